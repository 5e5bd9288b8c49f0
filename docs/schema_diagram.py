"""Render docs/images/schema.png, the pipeline's schema as DataJoint draws it (needs graphviz's `dot`).

    python docs/schema_diagram.py        # makes and drops a throwaway schema on the configured server
"""

from pathlib import Path

import datajoint as dj

from neural_cotraining.pipeline import activate

SCHEMA = "my_experiment_diagram"
OUTPUT = Path(__file__).resolve().parent / "images" / "schema.png"

if __name__ == "__main__":
    tables = activate(SCHEMA)
    try:
        context = {name: table for name, table in vars(tables).items() if name != "schema"}
        dj.Diagram(tables.schema, context=context).make_dot().write_png(str(OUTPUT))
        print(OUTPUT)
    finally:
        tables.schema.drop(prompt=False)

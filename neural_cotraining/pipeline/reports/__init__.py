"""Reading what the pipeline stored, labelled as the experiment file labels its entries: where each job stands
(``status``), the trained models' results and per-epoch metrics (``results``), the same as pandas DataFrames
(``frames``), failed jobs and their retry (``failures``), and live jobs' progress (``progress``)."""

"""Task-affinity studies (Standley et al. 2020; Fifty et al. 2021): which tasks help each other when trained together.

- ``plan``: an affinity file's groups (every single task, every pair, sampled k-task groups) and their configs;
- ``scores``: each task's gain in a group over its score alone (no database);
- ``runs``: the plan's entries added and trained through the pipeline, summarised as CSV and a heatmap;
- ``heatmap``: the pairwise affinity heatmap.
"""

from .plan import AffinityStudy, GroupPlan, load_affinity_file, plan_study, restrict_to_tasks

__all__ = ["AffinityStudy", "GroupPlan", "load_affinity_file", "plan_study", "restrict_to_tasks"]

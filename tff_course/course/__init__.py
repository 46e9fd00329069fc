"""The course's classic experiments, one command each (`tff-course experiment NAME`).

Each experiment is a set of labelled runs (arms) of the federated runner or of the
NumPy implementation, and a report: run_dir/report.md with tables and the figures it
draws from the runs' metrics files.
"""

from tff_course.course.arms import Arm
from tff_course.course.experiment import CourseExperiment
from tff_course.course.registry import EXPERIMENTS, course_experiment
from tff_course.course.run import plan_arms, run_course_experiment

__all__ = ["Arm", "CourseExperiment", "EXPERIMENTS", "course_experiment", "plan_arms",
           "run_course_experiment"]

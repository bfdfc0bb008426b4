"""nbgrader configuration: the repository root is the course directory.

Instructor masters live in solutions/<hw>/, student versions in assignments/<hw>/:

    nbgrader generate_assignment hw0_probability --force --no-db   # writes assignments/hw0_probability/

Grading (local, never committed): submitted/<student>/<hw>/, autograded/, feedback/, gradebook.db.
tests/test_grading.py runs the whole round trip on a temporary copy of the course.
"""
import os

from nbconvert.preprocessors import CSSHTMLHeaderPreprocessor
from nbgrader.preprocessors import GetGrades

c = get_config()  # noqa: F821  (provided by traitlets when it loads this file)

# Absolute, so that a copy of the course (tests/test_grading.py) grades itself, not this checkout.
c.CourseDirectory.root = os.path.dirname(os.path.abspath(__file__))
c.CourseDirectory.course_id = "dgm"
c.CourseDirectory.source_directory = "solutions"
c.CourseDirectory.release_directory = "assignments"

# Release: solution regions become the default stub `# YOUR CODE HERE / raise NotImplementedError()`,
# hidden tests and outputs are removed (nbgrader's default GenerateAssignment pipeline).
c.ClearSolutions.code_stub = {"python": "# YOUR CODE HERE\nraise NotImplementedError()"}

# Collection (`nbgrader zip_collect HW`) of the files, or zips of files, that a learning platform
# lets you download into downloaded/HW/archive/, named <student_id>_<notebook>.ipynb, e.g.
# alice_hw0_probability.ipynb. nbgrader matches this expression against the whole path; for another
# naming scheme change it (it must name the groups student_id and file_id; student ids here hold no "_").
c.FileNameCollectorPlugin.named_regexp = r".*[/\\](?P<student_id>[^/\\_]+)_(?P<file_id>[^/\\]+)$"


# Autograding runs each submission in a sandboxed kernel with tamper evidence, a time budget per
# notebook and per cell, recovery from a dead kernel, and stderr shown as output instead of scoring 0
# (nbgrader gives 0 to a test cell that wrote anything to stderr): see dgmlib/autograde/. The grading
# command `python -m dgmlib.autograde HW` adds parallel grading and a summary on top of this.
from dgmlib.autograde.config import configure  # noqa: E402

configure(c, c.CourseDirectory.root, notebook_time_limit=900, cell_time_limit=600)

# Feedback: nbgrader's default feedback HTML shows the hidden tests (jupyter/nbgrader#917), and so
# do the tracebacks of failing tests, which quote the lines around the failing line, and whatever a
# submission prints (its code can read the calling cell). HideHiddenTests is nbgrader's
# ClearHiddenTests (removes the hidden regions from the source) that also removes their lines from
# tracebacks and from every output. The assertion messages stay: they are the feedback students read.
from dgmlib.autograde.preprocessors import HideHiddenTests  # noqa: E402

c.GenerateFeedback.preprocessors = [GetGrades, HideHiddenTests, CSSHTMLHeaderPreprocessor]

"""nbgrader configuration: the repository root is the course directory.

Instructor masters live in solutions/<hw>/, student versions in assignments/<hw>/:

    nbgrader generate_assignment hw0_probability --force --no-db   # writes assignments/hw0_probability/

Grading (local, never committed): submitted/<student>/<hw>/, autograded/, feedback/, gradebook.db.
tests/test_grading.py runs the whole round trip on a temporary copy of the course.
"""
import os
import re

from nbconvert.preprocessors import CSSHTMLHeaderPreprocessor
from nbgrader.preprocessors import ClearHiddenTests, GetGrades
from traitlets import List

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

# Execution during autograde/validate. The timeout is per cell (nbgrader's default is 30 s);
# later weeks train small models inside graded cells, in quick mode (DGM_QUICK=1) on a CPU.
c.Execute.timeout = 600
c.Execute.interrupt_on_timeout = True  # a cell past the limit fails; the rest still run

# A graded cell that writes anything to stderr scores 0, even when its asserts pass. Python
# warnings (a UserWarning from torch, a RuntimeWarning from numpy) are not wrong answers, so
# stderr output that is a warning is dropped before grading. Errors are not stderr and still count.
c.IgnorePattern.enabled = True
c.IgnorePattern.pattern = r"\b\w*Warning\b"

# Feedback: nbgrader's default feedback HTML shows the hidden tests (jupyter/nbgrader#917), and so
# do the tracebacks of failing tests, which quote the lines around the failing line. HideHiddenTests
# is nbgrader's ClearHiddenTests (removes the hidden regions from the source) that also removes
# their lines from tracebacks. The assertion messages stay: they are the feedback students read.


class HideHiddenTests(ClearHiddenTests):
    """ClearHiddenTests, plus: no line of a hidden-test region is shown in a traceback.

    Only the frames of the test cell itself change: a frame that fails inside the hidden region
    becomes one line, other frames lose the context lines that fall inside it. Frames in the
    student's own code and the final `AssertionError: message` line are kept.
    """

    # configurable here, as in nbconvert's base class: HTMLExporter sets it, and nbgrader's
    # preprocessor base class would otherwise log "Config option not recognized"
    display_data_priority = List(ClearHiddenTests.display_data_priority.default_value).tag(config=True)

    def preprocess_cell(self, cell, resources, index):
        if cell.cell_type == "code" and cell.metadata.get("nbgrader", {}).get("grade", False):
            hidden, inside = set(), False
            for number, line in enumerate(cell.source.split("\n"), start=1):
                inside = inside or self.begin_test_delimeter in line
                if inside:
                    hidden.add(number)
                inside = inside and self.end_test_delimeter not in line
            for output in cell.outputs:
                if hidden and output.output_type == "error":
                    output.traceback = [self._trim(frame, hidden, cell.execution_count)
                                        for frame in output.traceback]
        return super().preprocess_cell(cell, resources, index)

    @staticmethod
    def _trim(frame, hidden, execution_count):
        plain = re.sub(r"\x1b\[[0-9;]*m", "", frame)
        header = re.match(r"\s*Cell In\[%s\], line (\d+)" % execution_count, plain)
        if header is None:  # another cell's frame: the student's function, a helper
            return frame
        if int(header.group(1)) in hidden:
            return "Cell In[%s]: a hidden test failed (its code is not shown)" % execution_count
        # context lines look like "     26 code" or "---> 25 code"
        numbered = [(re.match(r"\s*(?:-+>)?\s*(\d+)(?: |$)", line), line) for line in plain.split("\n")]
        return "\n".join(line for m, line in numbered if m is None or int(m.group(1)) not in hidden)


c.GenerateFeedback.preprocessors = [GetGrades, HideHiddenTests, CSSHTMLHeaderPreprocessor]

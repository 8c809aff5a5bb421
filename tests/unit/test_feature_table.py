"""docs/workers.md's table of which test covers which feature on which topology is the tests' own."""

from tests.support.featuretable import DOC, block, generated


def test_the_feature_table_of_docs_workers_md_says_what_the_tests_feature_marks_say():
    documented = block(DOC.read_text())
    assert documented, f"{DOC}: no feature table markers"
    assert documented == generated(), "the tests' feature marks changed: run scripts/feature-table"

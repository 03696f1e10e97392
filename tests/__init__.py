import pytest

# Asserts in the shared helpers explain themselves as a test's own asserts do.
pytest.register_assert_rewrite("tests.helpers", "tests.reliability.helpers")

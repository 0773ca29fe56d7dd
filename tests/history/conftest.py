from tests.loans.conftest import company, make_line, officer, product  # noqa: F401 - shared fixtures

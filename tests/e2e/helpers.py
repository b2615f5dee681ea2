"""Browser steps shared by the end-to-end tests."""

E2E_PASSWORD = "e2e-password-not-secret"


def sign_in(page, username: str, password: str = E2E_PASSWORD) -> None:
    """Sign in through the login page, as a person does."""
    page.goto("/")
    page.get_by_label("User name").fill(username)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Sign in").click()
    page.get_by_role("heading", name="Home", exact=True).wait_for()

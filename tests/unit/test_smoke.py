import pytest

from tests.factories import DirectoryUserFactory


@pytest.mark.django_db
def test_users_persist():
    user = DirectoryUserFactory(display_name="Ada")
    assert user.pk is not None

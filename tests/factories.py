"""factory-boy factories for the domain model."""

import factory

from provisioning import models
from provisioning.services.applications import add_application


class DirectoryUserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = models.DirectoryUser

    given_name = factory.Faker("first_name")
    surname = factory.Faker("last_name")
    display_name = factory.LazyAttribute(lambda o: f"{o.given_name} {o.surname}")
    user_principal_name = factory.Sequence(lambda n: f"user{n}@contoso.example")
    mail = factory.LazyAttribute(lambda o: o.user_principal_name)
    department = "Engineering"
    job_title = "Engineer"


class DirectoryGroupFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = models.DirectoryGroup

    display_name = factory.Sequence(lambda n: f"Group {n}")
    mail_nickname = factory.Sequence(lambda n: f"group{n}")


class MembershipFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = models.GroupMembership

    group = factory.SubFactory(DirectoryGroupFactory)
    member_user = factory.SubFactory(DirectoryUserFactory)


def make_application(template_slug: str = "scim", name: str | None = None) -> models.Application:
    """An application added from the gallery, as the portal does it (roles, job, mappings)."""
    return add_application(template_slug, name)


def assign(
    application: models.Application, principal, role_name: str = "User"
) -> models.Assignment:
    role = application.roles.get(name=role_name)
    if isinstance(principal, models.DirectoryGroup):
        return models.Assignment.objects.create(application=application, group=principal, role=role)
    return models.Assignment.objects.create(application=application, user=principal, role=role)

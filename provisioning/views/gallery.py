"""Enterprise applications > New application: the gallery, searchable, and adding an instance."""

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _

from ..forms.applications import AddApplicationForm
from ..gallery import UnknownTemplate, get_template, search_templates
from ..services.applications import ApplicationNameTaken, add_application
from .access import administrator_page


@administrator_page
def gallery(request: HttpRequest) -> HttpResponse:
    search = request.GET.get("q", "").strip()
    selected = None
    if request.method == "POST":
        form = AddApplicationForm(request.POST)
        if form.is_valid():
            try:
                application = add_application(
                    form.cleaned_data["template"], form.cleaned_data["name"], actor=request.user
                )
            except ApplicationNameTaken as error:
                form.add_error("name", str(error))
            else:
                messages.success(
                    request,
                    _("“%(name)s” was added to your applications.") % {"name": application.name},
                )
                return redirect("application-overview", application.pk)
        slug = request.POST.get("template", "")
    else:
        slug = request.GET.get("template", "")
        form = None
    try:
        selected = get_template(slug) if slug else None
    except UnknownTemplate:
        selected = None
    if selected is not None and form is None:
        form = AddApplicationForm(initial={"template": selected.slug, "name": selected.name})
    return render(
        request,
        "provisioning/gallery.html",
        {
            "templates": search_templates(search),
            "search": search,
            "selected": selected,
            "form": form,
            "can_change": True,
        },
    )

"""Insights (issue 11, beyond Azure's blade): events over time by status and by action, top
error codes, cycles and their duration, the slowest objects — for one application or all."""

from datetime import timedelta

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils import timezone
from django.utils.formats import date_format
from django.utils.translation import gettext as _

from ..choices import LogAction, LogStatus
from ..reports.charts import STATUS_COLOURS, Series, stacked_bars
from ..reports.filters import DateRangeForm, bind
from ..reports.insights import compute_insights
from .access import portal_page
from .blade import blade_context, get_application

DEFAULT_RANGE = timedelta(days=7)


class InsightsForm(DateRangeForm):
    pass


def insights_context(request: HttpRequest, *, application_id: int | None) -> dict:
    form = bind(InsightsForm, request.GET)
    now = timezone.now()
    since, until = (None, None)
    if form.is_bound and form.is_valid():
        since, until = form.date_bounds(now)
    until = until or now
    since = since or until - DEFAULT_RANGE
    data = compute_insights(since, until, application_id=application_id)
    label_format = "d M H:00" if data.bucket == "hour" else "d M"  # month names translated
    labels = [date_format(timezone.localtime(m), label_format) for m in data.buckets]
    bucket = _("hour") if data.bucket == "hour" else _("day")
    status_labels = dict(LogStatus.choices)
    action_labels = dict(LogAction.choices)
    by_status = stacked_bars(
        "chart-status",
        _("Provisioning events by status"),
        _("Stacked bars: events per %(bucket)s, by status.") % {"bucket": bucket},
        labels,
        [
            Series(str(status_labels.get(k, k)), v, STATUS_COLOURS.get(k, ""))
            for k, v in data.by_status.items()
        ],
    )
    by_action = stacked_bars(
        "chart-action",
        _("Provisioning events by action"),
        _("Stacked bars: events per %(bucket)s, by action.") % {"bucket": bucket},
        labels,
        [Series(str(action_labels.get(k, k)), v) for k, v in data.by_action.items()],
    )
    cycles = stacked_bars(
        "chart-cycles",
        _("Cycles per day: average duration"),
        _("Bars: the average duration of the cycles that started each day, in seconds."),
        [date_format(timezone.localtime(day["day"]), "d M") for day in data.cycles_by_day],
        [Series(_("Average duration"), [round(d["average"], 1) for d in data.cycles_by_day])],
        unit="s",
    )
    return {
        "form": form,
        "insights": data,
        "charts": [by_status, by_action],
        "cycles_chart": cycles,
        "tenant_wide": application_id is None,
    }


@portal_page
def insights(request: HttpRequest, application_id: int) -> HttpResponse:
    application = get_application(application_id)
    context = blade_context(
        request, application, "insights", **insights_context(request, application_id=application.pk)
    )
    return render(request, "provisioning/insights.html", context)


@portal_page
def monitoring_insights(request: HttpRequest) -> HttpResponse:
    context = {"page_title": _("Insights"), **insights_context(request, application_id=None)}
    return render(request, "provisioning/monitoring_insights.html", context)

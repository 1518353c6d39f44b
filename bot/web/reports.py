"""``GET /staff/reports?year=2026[&month=3]`` for supervisors, and its JSON twin
``GET /staff/api/v1/reports`` (the same view model, without the charts)."""

from __future__ import annotations

from aiohttp import web
from pydantic import BaseModel, ConfigDict, Field

from bot.web import api, texts
from bot.web.access import require
from bot.web.charts import Chart, bar_chart
from bot.web.keys import SERVICES
from bot.web.pages import render
from bot.web.report_view import FIRST_YEAR, Report, build_report, parse_period
from storage.models import Role


def charts(report: Report) -> dict[str, Chart]:
    period = report.period
    unit = texts.UNIT_MONTH if report.month is None else texts.UNIT_DAY
    categories = [row.label for row in report.services]
    return {
        "services": bar_chart(
            "chart-services",
            texts.SERVICES_CHART.format(period=period, unit=unit),
            categories,
            [(s, [row.counts[s] for row in report.services]) for s in report.service_types],
        ),
        "escalations": bar_chart(
            "chart-escalations",
            texts.ESCALATIONS_CHART.format(period=period),
            [row.label for row in report.escalations],
            [
                (texts.ESC_OPENED, [row.opened for row in report.escalations]),
                (texts.ESC_ACKNOWLEDGED, [row.acknowledged for row in report.escalations]),
            ],
        ),
        "follow_ups": bar_chart(
            "chart-follow-ups",
            texts.FOLLOW_UPS_CHART.format(period=period),
            [row.label for row in report.follow_ups],
            [
                (texts.FU_DUE, [row.due for row in report.follow_ups]),
                (texts.FU_DONE, [row.done for row in report.follow_ups]),
            ],
        ),
    }


@require(Role.SUPERVISOR, Role.ADMIN)
async def reports_page(request: web.Request) -> web.Response:
    services = request.app[SERVICES]
    zone = services.config.zone
    today = services.clock.now().astimezone(zone).date()
    period, invalid = parse_period(request.query, today)
    report = await build_report(services, period)
    return await render(
        request,
        "staff/reports.html",
        {
            "title": report.title,
            "report": report,
            "charts": charts(report),
            "invalid": invalid,
            "years": list(range(today.year, today.year - 6, -1)),
            "zone": services.config.service.timezone,
        },
    )


class ReportQuery(BaseModel):
    model_config = ConfigDict(extra="forbid")

    year: int | None = Field(default=None, ge=FIRST_YEAR, le=9999, description="default: this year")
    month: int | None = Field(default=None, ge=1, le=12, description="none: the whole year")


async def reports_api(request: web.Request) -> web.StreamResponse:
    services = request.app[SERVICES]
    today = services.clock.now().astimezone(services.config.zone).date()
    query = api.query_model(request, ReportQuery)
    given = {k: str(v) for k, v in query.model_dump(exclude_none=True).items()}
    period, invalid = parse_period(given, today)
    if invalid:
        return api.ok(
            api.ErrorBody(
                error="invalid input",
                fields=[{"field": "year", "problem": "not a year with a report"}],
            ),
            status=400,
        )
    return api.ok(await build_report(services, period))


ENDPOINT = api.Endpoint(
    "GET",
    "/reports",
    "Monthly or annual counts: services in 人次, escalations, follow-ups",
    (Role.SUPERVISOR, Role.ADMIN),
    Report,
    query=ReportQuery,
)


def setup(app: web.Application) -> None:
    app.router.add_get("/staff/reports", reports_page)
    api.add_endpoint(app, ENDPOINT, reports_api)

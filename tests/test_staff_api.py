"""The JSON staff API's edge and its OpenAPI description, and the audit log it serves
(issue 19, items 2 and 3): the same access rules as the pages, validated input."""

from __future__ import annotations

from datetime import timedelta

from openapi_spec_validator import validate

from storage import queries
from tests.staff_site import StaffSite


async def _events(site: StaffSite, count: int, action: str = "test.event") -> None:
    now = site.services.clock.now()
    async with site.services.db.write() as session:
        for n in range(count):
            await queries.audit(
                session,
                actor="sw-lin",
                action=action,
                object_type="person",
                object_id=n,
                at=now - timedelta(minutes=count - n),
                detail={"n": n},
            )


async def test_the_openapi_description_is_valid_and_lists_the_api(
    staff_client: StaffSite,
) -> None:
    worker = await staff_client.signed_in("sw-chen")
    response = await worker.get("/staff/api/openapi.json")
    document = await response.json()
    validate(document)  # raises on an invalid OpenAPI 3.1 document
    audit = document["paths"]["/staff/api/v1/audit"]["get"]
    names = {p["name"] for p in audit["parameters"]}
    assert {"actor", "action", "from", "to", "before"} <= names
    assert "supervisor" in audit["description"] and "social_worker" not in audit["description"]
    take = document["paths"]["/staff/api/v1/escalations/{id}/acknowledge"]["post"]
    assert take["parameters"] == [
        {"name": "id", "in": "path", "required": True, "schema": {"type": "integer"}}
    ]
    assert take["security"] == [{"session": [], "csrf": []}]
    case = document["paths"]["/staff/api/v1/cases/{person_id}"]["get"]
    schema = case["responses"]["200"]["content"]["application/json"]["schema"]
    assert schema == {"$ref": "#/components/schemas/CaseView"}
    assert "messages" in document["components"]["schemas"]["CaseView"]["properties"]
    anonymous = staff_client.anonymous()
    refused = await anonymous.get(staff_client.base + "/staff/api/openapi.json")
    assert refused.status == 401


async def test_the_audit_log_pages_back_newest_first(staff_client: StaffSite) -> None:
    await _events(staff_client, 60)
    supervisor = await staff_client.signed_in("sup-liang")
    first = await (await supervisor.get("/staff/api/v1/audit?action=test.event")).json()
    assert [e["detail"]["n"] for e in first["entries"]] == list(range(59, 9, -1))
    older = await supervisor.get(
        f"/staff/api/v1/audit?action=test.event&before={first['next_before']}"
    )
    second = await older.json()
    assert [e["detail"]["n"] for e in second["entries"]] == list(range(9, -1, -1))
    assert second["next_before"] is None

    page = await supervisor.get("/staff/audit?action=test.event")
    html = await page.text()
    assert page.status == 200 and "更早的记录" in html and "n=59" in html
    assert f"before={first['next_before']}" in html and "action=test.event" in html


async def test_the_audit_log_is_for_supervisors(staff_client: StaffSite) -> None:
    worker = await staff_client.signed_in("sw-chen")
    assert (await worker.get("/staff/audit")).status == 403
    api = await worker.get("/staff/api/v1/audit")
    assert api.status == 403 and (await api.json()) == {"error": "forbidden"}


async def test_bad_input_is_a_400_naming_the_field(staff_client: StaffSite) -> None:
    admin = await staff_client.signed_in("admin")
    blank = await admin.get("/staff/api/v1/audit?actor=&from=&to=")
    assert blank.status == 200, "a form's blank filters are no filter"
    page = await admin.get("/staff/audit?from=2026-13-40")
    assert page.status == 400 and "筛选条件有误（from）" in await page.text()
    for query, field in (("before=abc", "before"), ("from=2026-13-40", "from"), ("x=1", "x")):
        response = await admin.get(f"/staff/api/v1/audit?{query}")
        body = await response.json()
        assert response.status == 400, query
        assert body["error"] == "invalid input" and body["fields"][0]["field"] == field


async def test_an_unknown_endpoint_or_method_answers_in_the_api_error_shape(
    staff_client: StaffSite,
) -> None:
    supervisor = await staff_client.signed_in("sup-liang")
    missing = await supervisor.get("/staff/api/v1/no-such-thing")
    assert missing.status == 404
    assert missing.content_type == "application/json"
    assert (await missing.json()) == {"error": "no such endpoint", "fields": []}
    wrong = await supervisor.post_form("/staff/api/v1/audit", {})
    assert wrong.status == 405 and "GET" in wrong.headers["Allow"]
    assert (await wrong.json())["error"] == "method not allowed"
    page = await supervisor.get("/staff/no-such-page")
    assert page.status == 404 and page.content_type != "application/json", "pages keep theirs"


async def test_filters_by_local_day(staff_client: StaffSite) -> None:
    await _events(staff_client, 3, action="test.day")
    admin = await staff_client.signed_in("admin")
    today = staff_client.services.clock.now().astimezone(staff_client.services.config.zone).date()
    tomorrow = today + timedelta(days=1)
    same = await (
        await admin.get(f"/staff/api/v1/audit?action=test.day&from={today}&to={today}")
    ).json()
    later = await (await admin.get(f"/staff/api/v1/audit?action=test.day&from={tomorrow}")).json()
    assert len(same["entries"]) == 3 and later["entries"] == []

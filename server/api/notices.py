"""Public endpoints of the notices a ticket's holder gets: a walk-in's contact to be told when
few people are ahead (``server.stepout``), and an appointment's choice when told it runs late
(``server.appointments.punctuality``). The follow token is the only key, as for the follow
page."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path, Response
from pydantic import Field

from server import stepout
from server.api import public as public_api
from server.api.deps import Ctx
from server.api.public import within_budget
from server.appointments import punctuality
from server.appointments.models import EMAIL_RE, PHONE_RE, AppointmentOut, MoveRequest
from server.appointments.views import public_view
from server.errors import ErrorBody, responses
from server.models import TOKEN_RE, PublicTicket, StepOutState, _In

router = APIRouter(prefix="/public/tickets/{token}", dependencies=[Depends(within_budget)])

Token = Annotated[str, Path(pattern=TOKEN_RE, description="The ticket's follow token.")]


class StepOutRequest(_In):
    """One of ``email`` or ``phone``: where to tell the walk-in their turn is near."""

    email: str | None = Field(default=None, pattern=EMAIL_RE, max_length=254)
    phone: str | None = Field(
        default=None, pattern=PHONE_RE, description="A mobile number (06 12 34 56 78 or +33…)."
    )
    lang: str | None = Field(
        default=None, pattern=r"^[a-z]{2,3}$", description="The message's language."
    )


def _conflict(what: str) -> dict[int | str, dict[str, Any]]:
    return {409: {"model": ErrorBody, "description": what}}


def _state(found: stepout.StepOut) -> StepOutState:
    return StepOutState(
        ahead_threshold=found.ahead,
        channel=found.channel,  # type: ignore[arg-type]
        notified=found.notified,
    )


@router.get(
    "/step-out",
    response_model=StepOutState,
    responses=responses(404, 422, 429),
    summary="Whether the ticket's holder left a contact to be told when few people are ahead",
)
def get_step_out(token: Token, ctx: Ctx, response: Response) -> StepOutState:
    response.headers["Cache-Control"] = "no-store"
    return _state(stepout.status_of_token(ctx, token))


@router.post(
    "/step-out",
    response_model=StepOutState,
    responses={
        **responses(400, 404, 413, 422, 429),
        **_conflict("not_waiting (not a waiting walk-in ticket), notified (told already)"),
    },
    summary="Leave a phone number or an e-mail address to be told, once, when few people are "
    "ahead (a waiting walk-in ticket); forgotten when the ticket ends",
)
def post_step_out(token: Token, body: StepOutRequest, ctx: Ctx, response: Response) -> StepOutState:
    response.headers["Cache-Control"] = "no-store"
    return _state(stepout.leave(ctx, token, body.email, body.phone, body.lang or "fr"))


@router.delete(
    "/step-out",
    response_model=StepOutState,
    responses=responses(404, 422, 429),
    summary="Forget the contact left for this ticket",
)
def delete_step_out(token: Token, ctx: Ctx, response: Response) -> StepOutState:
    stepout.withdraw(ctx, token)
    response.headers["Cache-Control"] = "no-store"
    return _state(stepout.status_of_token(ctx, token))


@router.post(
    "/late/wait",
    response_model=PublicTicket,
    responses={
        **responses(400, 404, 413, 422, 429),
        **_conflict("not_late (not told it runs late)"),
    },
    summary="An appointment told it runs late: the person keeps waiting",
)
def late_wait(token: Token, ctx: Ctx, response: Response) -> PublicTicket:
    punctuality.choose_wait(ctx, token)
    return public_api.ticket(token, ctx, response)


@router.post(
    "/late/rebook",
    response_model=AppointmentOut,
    responses={
        **responses(400, 404, 413, 422, 429),
        **_conflict(
            "not_late (not told it runs late), slot_full, called (the ticket was called "
            "meanwhile: nothing changed)"
        ),
    },
    summary="An appointment told it runs late: book another slot of its service instead; "
    "the ticket is cancelled and the new appointment confirmed by message",
)
def late_rebook(token: Token, body: MoveRequest, ctx: Ctx, response: Response) -> AppointmentOut:
    new = punctuality.rebook(ctx, token, body.start, "api")
    loaded = ctx.sites.get_by_engine(ctx.engine, new.site)
    assert loaded is not None
    response.headers["Cache-Control"] = "no-store"
    return public_view(loaded, new)

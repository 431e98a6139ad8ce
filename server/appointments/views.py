"""What the API shows of an appointment."""

from __future__ import annotations

from server.appointments.booking import Appointment
from server.appointments.models import AppointmentOut, SlotOut, StaffAppointment
from server.sites import LoadedSite
from tickets.appointments import Slot


def slot_out(loaded: LoadedSite, slot: Slot) -> SlotOut:
    return SlotOut(
        start=int(slot.start), local=loaded.site.local(slot.start).isoformat(), free=slot.free
    )


def _fields(loaded: LoadedSite, appt: Appointment) -> dict[str, object]:
    service = loaded.site.service(appt.service)
    rules = service.appointments if service else None
    return {
        "site": loaded.id,
        "site_name": loaded.site.name,
        "service": appt.service,
        "service_names": dict(service.names) if service else {},
        "start": appt.starts_at,
        "local": loaded.site.local(appt.starts_at).isoformat(),
        "duration_minutes": rules.duration_minutes if rules else 0,
        "status": appt.status,
        "code": appt.display_code,
        "token": appt.token,
        "lang": appt.lang,
    }


def public_view(loaded: LoadedSite, appt: Appointment) -> AppointmentOut:
    return AppointmentOut.model_validate(_fields(loaded, appt))


def staff_view(loaded: LoadedSite, appt: Appointment) -> StaffAppointment:
    return StaffAppointment.model_validate(
        {
            **_fields(loaded, appt),
            "id": appt.id,
            "name": appt.name,
            "email": appt.email,
            "phone": appt.phone,
            "note": appt.note,
            "ticket": appt.ticket,
            "channel": appt.channel,
        }
    )

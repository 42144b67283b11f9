"""Bring the database's services and rooms in line with the configuration; the demo clinic.

Services and rooms are described in the configuration file, where a clinic edits them; the
database keeps a row for each so tickets and events can refer to them.  A service or room
removed from the file is marked inactive, never deleted: old tickets still point at it.
"""

from __future__ import annotations

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from .auth import create_user, issue_api_token
from .config import Settings
from .models import ROOM_OPEN, Room, RoomService, Service, StaffUser, Ticket

DEMO_USERS = (
    ("admin", "admin-demo-pass", "admin", "Clinic admin"),
    ("staff", "staff-demo-pass", "staff", "Demo nurse"),
)


def sync_clinic(session: Session, settings: Settings) -> None:
    """Create or update services and rooms from ``settings``; deactivate the ones it dropped."""
    known_services = {s.id: s for s in session.scalars(select(Service))}
    for order, config in enumerate(settings.services.values()):
        service = known_services.get(config.id)
        if service is None:
            # A prefix freed by a retired service may be taken by a new one.
            for other in known_services.values():
                if other.prefix == config.prefix and other.id not in settings.services:
                    other.prefix = f"~{other.id[:2]}"
            session.flush()
            service = Service(id=config.id, prefix=config.prefix, last_number=0)
            session.add(service)
        service.prefix = config.prefix
        service.active = True
        service.sort_order = order
    for service in known_services.values():
        if service.id not in settings.services:
            service.active = False
    session.flush()

    known_rooms = {r.id: r for r in session.scalars(select(Room))}
    for order, config in enumerate(settings.rooms.values()):
        room = known_rooms.get(config.id)
        if room is None:
            room = Room(id=config.id, status=ROOM_OPEN)
            session.add(room)
        room.active = True
        room.sort_order = order
        current = set(room.service_ids)
        wanted = set(config.services)
        room.services = [link for link in room.services if link.service_id in wanted] + [
            RoomService(service_id=sid) for sid in config.services if sid not in current
        ]
    for room in known_rooms.values():
        if room.id not in settings.rooms:
            room.active = False
    session.flush()


def is_empty(session: Session) -> bool:
    """True when nobody has signed up and no ticket was ever made: a fresh install."""
    users = session.scalar(select(func.count()).select_from(StaffUser))
    tickets = session.scalar(select(func.count()).select_from(Ticket))
    return not users and not tickets


def load_demo(session: Session, settings: Settings, now) -> dict[str, str]:
    """Demo accounts and device tokens; returns ``{"kiosk": token, "display": token}``."""
    sync_clinic(session, settings)
    for username, password, role, name in DEMO_USERS:
        create_user(session, username, password, role, now, display_name=name)
    return {
        "kiosk": issue_api_token(session, "kiosk", "Demo reception kiosk", now),
        "display": issue_api_token(session, "display", "Demo waiting-room TV", now),
    }

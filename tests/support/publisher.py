"""A publisher that records what the clinic's door would have sent, for domain-flow tests."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass
class Published:
    """One committed change as the publisher was told it."""

    version: int
    tickets: list[str]
    moved: list[str]
    noted: list[str]
    called: str | None
    staff: dict
    public: dict


@dataclass
class RecordingPublisher:
    """Keeps each ``changed`` and ``delivered`` call, with the views every audience would get."""

    settings: object
    changes: list[Published] = field(default_factory=list)
    deliveries: list = field(default_factory=list)
    #: ``inbox`` events to staff, and (ticket id, message) sent to phone pages.
    inbox_events: list[dict] = field(default_factory=list)
    ticket_messages: list[tuple[int, dict]] = field(default_factory=list)
    #: ``appointments`` events to staff.
    appointment_events: list[dict] = field(default_factory=list)

    def changed(self, snapshot, tickets, called, moved=(), noted=()) -> None:
        numbers = {t.id: t.number for line in snapshot.state.lines.values() for t in line}
        self.changes.append(
            Published(
                version=snapshot.version,
                tickets=[t.number for t in tickets],
                moved=[numbers[i] for i in moved],
                noted=[t.number for t in noted],
                called=called.number if called is not None else None,
                staff=snapshot.staff(self.settings),
                public=snapshot.public(self.settings),
            )
        )

    def delivered(self, delivery) -> None:
        self.deliveries.append(delivery)

    def inbox(self, event: dict) -> None:
        self.inbox_events.append(event)

    def ticket_message(self, ticket_id: int, message: dict) -> None:
        self.ticket_messages.append((ticket_id, message))

    def appointments(self, event: dict) -> None:
        self.appointment_events.append(event)

    @property
    def versions(self) -> list[int]:
        return [c.version for c in self.changes]

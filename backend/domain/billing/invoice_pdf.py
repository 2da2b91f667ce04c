"""The invoice as a PDF (fpdf2), in the buyer's language (en, fr, de).

It shows the seller (name, address, VAT id), the buyer as copied at issue time, the number and
date (and the month of a monthly invoice), then per session: station, site, start and stop in
the site's time zone, energy, and the session's lines (quantity, unit price, amount excl. VAT,
VAT rate, VAT, amount incl. VAT); the totals; refunds and credit notes, if any; where the
payment stands.

The PDF uses the standard Helvetica font (no font file to ship), whose Windows-1252 encoding
covers English, French and German (and €); anything else is replaced.

`document(...)` reads what the PDF shows; `render(...)` is pure. Who may see the buyer is the
caller's decision (`buyer=None` leaves it out, `anonymized_buyer` replaces it).
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from fpdf import FPDF
from fpdf.fonts import FontFace
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from backend.db.models import (
    ChargingSession,
    ChargingStation,
    Invoice,
    InvoiceKind,
    InvoiceLine,
    Refund,
    RefundKind,
    RefundState,
    Site,
)
from backend.domain.billing.gateway import PaymentState
from backend.pricing import minor_digits
from backend.settings import Settings

LANGUAGES = ("en", "fr", "de")

TEXTS: dict[str, dict[str, str]] = {
    "en": {
        "invoice": "Invoice",
        "number": "Invoice number",
        "date": "Date",
        "period": "Period",
        "vat_id": "VAT ID",
        "billed_to": "Billed to",
        "session": "Charging session",
        "station": "Station",
        "site": "Site",
        "start": "Start",
        "stop": "Stop",
        "energy": "Energy",
        "description": "Description",
        "quantity": "Quantity",
        "unit_price": "Unit price",
        "excl": "Excl. VAT",
        "vat_rate": "VAT rate",
        "vat": "VAT",
        "incl": "Incl. VAT",
        "subtotal": "Subtotal excl. VAT",
        "total_vat": "VAT",
        "total": "Total incl. VAT",
        "refunds": "Refunds and credit notes",
        "refund": "Refund",
        "credit_note": "Credit note",
        "pending": "pending",
        "refunded": "Refunded",
        "balance": "Total after refunds",
        "paid": "Paid on {date}.",
        "open": "Payment pending: it will be charged to your payment method.",
        "failed": "The payment failed; it will be attempted again.",
        "void": "This invoice was cancelled.",
        "local": "",
        "ENERGY": "Energy",
        "TIME": "Charging time",
        "PARKING_TIME": "Parking time",
        "FLAT": "Session fee",
        "unit_session": "session",
    },
    "fr": {
        "invoice": "Facture",
        "number": "Numéro de facture",
        "date": "Date",
        "period": "Période",
        "vat_id": "N° de TVA",
        "billed_to": "Facturé à",
        "session": "Session de recharge",
        "station": "Borne",
        "site": "Site",
        "start": "Début",
        "stop": "Fin",
        "energy": "Énergie",
        "description": "Description",
        "quantity": "Quantité",
        "unit_price": "Prix unitaire",
        "excl": "HT",
        "vat_rate": "Taux TVA",
        "vat": "TVA",
        "incl": "TTC",
        "subtotal": "Total HT",
        "total_vat": "TVA",
        "total": "Total TTC",
        "refunds": "Remboursements et avoirs",
        "refund": "Remboursement",
        "credit_note": "Avoir",
        "pending": "en cours",
        "refunded": "Remboursé",
        "balance": "Total après remboursements",
        "paid": "Payée le {date}.",
        "open": "Paiement en attente : il sera prélevé sur votre moyen de paiement.",
        "failed": "Le paiement a échoué ; il sera tenté de nouveau.",
        "void": "Cette facture a été annulée.",
        "local": "",
        "ENERGY": "Énergie",
        "TIME": "Temps de charge",
        "PARKING_TIME": "Temps de stationnement",
        "FLAT": "Frais de session",
        "unit_session": "session",
    },
    "de": {
        "invoice": "Rechnung",
        "number": "Rechnungsnummer",
        "date": "Datum",
        "period": "Zeitraum",
        "vat_id": "USt-IdNr.",
        "billed_to": "Rechnung an",
        "session": "Ladevorgang",
        "station": "Ladestation",
        "site": "Standort",
        "start": "Beginn",
        "stop": "Ende",
        "energy": "Energie",
        "description": "Beschreibung",
        "quantity": "Menge",
        "unit_price": "Einzelpreis",
        "excl": "Netto",
        "vat_rate": "MwSt.-Satz",
        "vat": "MwSt.",
        "incl": "Brutto",
        "subtotal": "Summe netto",
        "total_vat": "MwSt.",
        "total": "Gesamt brutto",
        "refunds": "Erstattungen und Gutschriften",
        "refund": "Erstattung",
        "credit_note": "Gutschrift",
        "pending": "in Bearbeitung",
        "refunded": "Erstattet",
        "balance": "Gesamt nach Erstattungen",
        "paid": "Bezahlt am {date}.",
        "open": "Zahlung ausstehend: Sie wird von Ihrem Zahlungsmittel eingezogen.",
        "failed": "Die Zahlung ist fehlgeschlagen; sie wird erneut versucht.",
        "void": "Diese Rechnung wurde storniert.",
        "local": "",
        "ENERGY": "Energie",
        "TIME": "Ladezeit",
        "PARKING_TIME": "Parkzeit",
        "FLAT": "Grundgebühr",
        "unit_session": "Ladevorgang",
    },
}


def language_of(value: str | None) -> str:
    return value if value in LANGUAGES else "en"


def text(language: str, key: str) -> str:
    return TEXTS[language_of(language)][key]


# --- formatting ---------------------------------------------------------------------------------


def _group(digits: str, separator: str) -> str:
    parts: list[str] = []
    while len(digits) > 3:
        parts.insert(0, digits[-3:])
        digits = digits[:-3]
    parts.insert(0, digits)
    return separator.join(parts)


def format_decimal(value: Decimal | str, language: str, *, group: bool = False) -> str:
    """A decimal as people of that language write it ("12.5" → "12,5" in French and German)."""
    number = Decimal(value)
    sign = "-" if number < 0 else ""
    whole, _, fraction = f"{abs(number):f}".partition(".")
    lang = language_of(language)
    thousands = {"en": ",", "fr": "\u202f", "de": "."}[lang] if group else ""
    point = "." if lang == "en" else ","
    whole = _group(whole, thousands) if thousands else whole
    return f"{sign}{whole}{point}{fraction}" if fraction else f"{sign}{whole}"


def format_money(minor: int, currency: str, language: str) -> str:
    amount = Decimal(minor).scaleb(-minor_digits(currency))
    return f"{format_decimal(amount, language, group=True)} {currency}"


def format_date(moment: datetime, language: str, zone: str = "UTC") -> str:
    pattern = {"en": "%Y-%m-%d", "fr": "%d/%m/%Y", "de": "%d.%m.%Y"}[language_of(language)]
    return moment.astimezone(_zone(zone)).strftime(pattern)


def format_time(moment: datetime, language: str, zone: str = "UTC") -> str:
    local = moment.astimezone(_zone(zone))
    return f"{format_date(moment, language, zone)} {local:%H:%M} ({local.tzname()})"


def format_energy(wh: int, language: str) -> str:
    kwh = (Decimal(wh) / 1000).normalize()  # 12 kWh, 12.345 kWh
    return f"{format_decimal(kwh, language)} kWh"


def _zone(name: str) -> ZoneInfo:
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        return ZoneInfo("UTC")


def unit_label(unit: str, language: str) -> str:
    return text(language, "unit_session") if unit == "session" else unit


def line_description(
    dimension: str, quantity: str, unit: str, station: str, day: str, language: str
) -> str:
    """`Energy 12.345 kWh — Station X, 2026-11-22` in the buyer's language."""
    label = TEXTS[language_of(language)].get(dimension, dimension.title())
    amount = "" if dimension == "FLAT" else f" {format_decimal(quantity, language)} {unit}"
    return f"{label}{amount} — {station}, {day}"[:300]


# --- what the PDF shows ---------------------------------------------------------------------


@dataclass(frozen=True)
class Party:
    name: str
    address: tuple[str, ...] = ()
    email: str | None = None
    vat_id: str | None = None


@dataclass(frozen=True)
class SessionBlock:
    session_id: uuid.UUID | None
    station: str
    site: str
    time_zone: str
    started_at: datetime | None
    stopped_at: datetime | None
    energy_wh: int | None
    lines: list[InvoiceLine] = field(default_factory=list)


@dataclass(frozen=True)
class InvoiceDocument:
    invoice: Invoice
    language: str
    seller: Party
    buyer: Party | None
    blocks: list[SessionBlock]
    refunds: list[Refund]


def seller_of(settings: Settings) -> Party:
    address = tuple(line.strip() for line in settings.seller_address.split("\n") if line.strip())
    return Party(
        name=settings.seller_name,
        address=address,
        email=settings.seller_email or None,
        vat_id=settings.seller_vat_id or None,
    )


def buyer_of(invoice: Invoice) -> Party:
    address = tuple(line for line in (invoice.buyer_address or "").split("\n") if line)
    return Party(name=invoice.buyer_name, address=address, email=invoice.buyer_email)


async def document(
    db: AsyncSession, invoice: Invoice, settings: Settings, buyer: Party | None
) -> InvoiceDocument:
    lines = list(
        await db.scalars(
            select(InvoiceLine)
            .where(InvoiceLine.invoice_id == invoice.id)
            .order_by(InvoiceLine.position)
        )
    )
    session_ids = {line.session_id for line in lines if line.session_id is not None}
    sessions: dict[uuid.UUID, tuple[ChargingSession, str, str, str]] = {}
    if session_ids:
        rows = await db.execute(
            select(ChargingSession, ChargingStation, Site)
            .join(ChargingStation, ChargingStation.id == ChargingSession.station_id)
            .outerjoin(Site, Site.id == ChargingStation.site_id)
            .where(ChargingSession.id.in_(session_ids))
        )
        for row_session, row_station, row_site in rows:
            sessions[row_session.id] = (
                row_session,
                row_station.ocpp_identity,
                row_site.name if row_site else "",
                row_site.timezone if row_site else "UTC",
            )
    blocks: list[SessionBlock] = []
    for line in lines:
        if blocks and blocks[-1].session_id == line.session_id:
            blocks[-1].lines.append(line)
            continue
        found = sessions.get(line.session_id) if line.session_id else None
        if found is None:
            blocks.append(SessionBlock(line.session_id, "", "", "UTC", None, None, None, [line]))
            continue
        charging, station, site, zone = found
        blocks.append(
            SessionBlock(
                charging.id,
                station,
                site,
                zone,
                charging.started_at,
                charging.stopped_at,
                charging.energy_wh,
                [line],
            )
        )
    refunds = list(
        await db.scalars(
            select(Refund)
            .where(Refund.invoice_id == invoice.id, Refund.state != RefundState.FAILED)
            .order_by(Refund.created_at)
        )
    )
    return InvoiceDocument(
        invoice=invoice,
        language=language_of(invoice.buyer_language),
        seller=seller_of(settings),
        buyer=buyer,
        blocks=blocks,
        refunds=refunds,
    )


# --- rendering ------------------------------------------------------------------------------------


def _safe(value: str) -> str:
    # Helvetica's Windows-1252: English, French, German and €; anything else becomes "?".
    return value.encode("cp1252", errors="replace").decode("cp1252")


class _Pdf(FPDF):
    def __init__(self, footer_text: str) -> None:
        super().__init__(orientation="portrait", unit="mm", format="A4")
        self.core_fonts_encoding = "windows-1252"
        self.footer_text = footer_text
        self.set_margins(15, 15, 15)
        self.set_auto_page_break(auto=True, margin=18)

    def footer(self) -> None:
        self.set_y(-12)
        self.set_font("Helvetica", size=8)
        self.set_text_color(110)
        self.cell(0, 5, _safe(f"{self.footer_text} - {self.page_no()}/{{nb}}"), align="C")


def filename(invoice: Invoice) -> str:
    return f"invoice-{invoice.number}.pdf"


def render(doc: InvoiceDocument) -> bytes:
    inv = doc.invoice
    lang = doc.language
    t = TEXTS[lang]
    money = lambda minor: format_money(minor, inv.currency, lang)  # noqa: E731

    pdf = _Pdf(f"{doc.seller.name} - {t['invoice']} {inv.number}")
    pdf.set_title(_safe(f"{t['invoice']} {inv.number}"))
    pdf.set_author(_safe(doc.seller.name))
    pdf.add_page()
    width = pdf.epw

    # Seller (left) and the invoice's identity (right).
    top = pdf.get_y()
    pdf.set_font("Helvetica", "B", 14)
    pdf.multi_cell(width * 0.55, 7, _safe(doc.seller.name), new_x="LMARGIN", new_y="NEXT")
    pdf.set_font("Helvetica", size=9)
    seller_lines = list(doc.seller.address)
    if doc.seller.vat_id:
        seller_lines.append(f"{t['vat_id']}: {doc.seller.vat_id}")
    if doc.seller.email:
        seller_lines.append(doc.seller.email)
    for line in seller_lines:
        pdf.cell(width * 0.55, 4.5, _safe(line), new_x="LMARGIN", new_y="NEXT")
    left_end = pdf.get_y()

    pdf.set_xy(pdf.l_margin + width * 0.55, top)
    pdf.set_font("Helvetica", "B", 18)
    pdf.cell(width * 0.45, 9, _safe(t["invoice"]), align="R", new_x="LEFT", new_y="NEXT")
    pdf.set_font("Helvetica", size=9)
    facts = [
        f"{t['number']}: {inv.number}",
        f"{t['date']}: {format_date(inv.issued_at, lang)}",
    ]
    if inv.kind is InvoiceKind.MONTHLY and inv.period_start and inv.period_end:
        last_day = inv.period_end - timedelta(seconds=1)
        facts.append(
            f"{t['period']}: {format_date(inv.period_start, lang)} - {format_date(last_day, lang)}"
        )
    for line in facts:
        pdf.cell(width * 0.45, 4.5, _safe(line), align="R", new_x="LEFT", new_y="NEXT")
    pdf.set_xy(pdf.l_margin, max(left_end, pdf.get_y()) + 6)

    # Buyer.
    if doc.buyer is not None:
        pdf.set_font("Helvetica", "B", 9)
        pdf.cell(0, 5, _safe(t["billed_to"]), new_x="LMARGIN", new_y="NEXT")
        pdf.set_font("Helvetica", size=9)
        for line in (doc.buyer.name, *doc.buyer.address, doc.buyer.email or ""):
            if line:
                pdf.cell(0, 4.5, _safe(line), new_x="LMARGIN", new_y="NEXT")
        pdf.ln(4)

    # Sessions and their lines.
    columns = (
        t["description"],
        t["quantity"],
        t["unit_price"],
        t["excl"],
        t["vat_rate"],
        t["vat"],
        t["incl"],
    )
    for block in doc.blocks:
        pdf.set_font("Helvetica", "B", 10)
        title = t["session"]
        if block.station:
            title += f" - {t['station']} {block.station}"
        if block.site:
            title += f" - {t['site']} {block.site}"
        pdf.multi_cell(0, 5.5, _safe(title), new_x="LMARGIN", new_y="NEXT")
        pdf.set_font("Helvetica", size=8)
        facts = []
        if block.started_at:
            facts.append(f"{t['start']}: {format_time(block.started_at, lang, block.time_zone)}")
        if block.stopped_at:
            facts.append(f"{t['stop']}: {format_time(block.stopped_at, lang, block.time_zone)}")
        if block.energy_wh is not None:
            facts.append(f"{t['energy']}: {format_energy(block.energy_wh, lang)}")
        if facts:
            pdf.multi_cell(0, 4.5, _safe("   ".join(facts)), new_x="LMARGIN", new_y="NEXT")
        pdf.ln(1)
        with pdf.table(
            col_widths=(64, 20, 28, 20, 14, 16, 22),
            text_align=("LEFT", "RIGHT", "RIGHT", "RIGHT", "RIGHT", "RIGHT", "RIGHT"),
            headings_style=FontFace(emphasis="BOLD", fill_color=(235, 238, 242)),
            line_height=4.5,
            padding=1,
            borders_layout="HORIZONTAL_LINES",
        ) as table:
            table.row([_safe(c) for c in columns])
            for item in block.lines:
                unit = unit_label(item.unit, lang)
                table.row(
                    [
                        _safe(item.description),
                        _safe(f"{format_decimal(item.quantity, lang)} {unit}"),
                        _safe(f"{format_decimal(item.unit_price, lang)} {inv.currency}/{unit}"),
                        _safe(money(item.amount_excl_vat_minor)),
                        _safe(f"{format_decimal(item.vat_percent, lang)} %"),
                        _safe(money(item.vat_minor)),
                        _safe(money(item.amount_incl_vat_minor)),
                    ]
                )
        pdf.ln(4)

    # Totals.
    totals = [
        (t["subtotal"], money(inv.subtotal_excl_vat_minor), False),
        (t["total_vat"], money(inv.vat_minor), False),
        (t["total"], money(inv.total_incl_vat_minor), True),
    ]
    for label, value, bold in totals:
        pdf.set_font("Helvetica", "B" if bold else "", 10 if bold else 9)
        pdf.cell(width - 40, 5.5, _safe(label), align="R")
        pdf.cell(40, 5.5, _safe(value), align="R", new_x="LMARGIN", new_y="NEXT")
    pdf.ln(3)

    # Refunds and credit notes.
    if doc.refunds:
        pdf.set_font("Helvetica", "B", 10)
        pdf.cell(0, 6, _safe(t["refunds"]), new_x="LMARGIN", new_y="NEXT")
        pdf.set_font("Helvetica", size=8.5)
        with pdf.table(
            col_widths=(26, 30, 94, 34),
            text_align=("LEFT", "LEFT", "LEFT", "RIGHT"),
            headings_style=FontFace(emphasis="BOLD", fill_color=(235, 238, 242)),
            line_height=4.5,
            padding=1,
            borders_layout="HORIZONTAL_LINES",
        ) as table:
            table.row([_safe(c) for c in (t["date"], "", t["description"], t["incl"])])
            for refund in doc.refunds:
                kind = t["refund"] if refund.kind is RefundKind.REFUND else t["credit_note"]
                if refund.state is RefundState.PENDING:
                    kind += f" ({t['pending']})"
                table.row(
                    [
                        _safe(format_date(refund.created_at, lang)),
                        _safe(kind),
                        _safe(refund.reason),
                        _safe(money(-refund.amount_minor)),
                    ]
                )
        pdf.ln(2)
        for label, value in (
            (t["refunded"], money(-inv.refunded_minor)),
            (t["balance"], money(inv.total_incl_vat_minor - inv.refunded_minor)),
        ):
            pdf.set_font("Helvetica", "B" if label == t["balance"] else "", 9)
            pdf.cell(width - 40, 5.5, _safe(label), align="R")
            pdf.cell(40, 5.5, _safe(value), align="R", new_x="LMARGIN", new_y="NEXT")
        pdf.ln(3)

    # Where the payment stands.
    state = inv.payment_state
    if state is PaymentState.PAID and inv.paid_at is not None:
        status = t["paid"].format(date=format_date(inv.paid_at, lang))
    else:
        status = t.get(state.value, "")
    if status:
        pdf.set_font("Helvetica", "I", 9)
        pdf.multi_cell(0, 5, _safe(status), new_x="LMARGIN", new_y="NEXT")
    return bytes(pdf.output())


__all__ = [
    "InvoiceDocument",
    "Party",
    "SessionBlock",
    "buyer_of",
    "document",
    "filename",
    "format_date",
    "format_decimal",
    "format_money",
    "line_description",
    "render",
    "seller_of",
    "text",
]

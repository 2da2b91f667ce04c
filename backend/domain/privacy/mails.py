"""The data-rights mails, in each person's language (kept apart from the account mails)."""

from __future__ import annotations

from backend.db.models import Language
from backend.domain.mailer import Mail

_TEXTS: dict[str, dict[Language, tuple[str, str]]] = {
    # Before the automatic erasure of an inactive account.
    "erasure_warning": {
        Language.EN: (
            "Your VEV-IQ account will be erased on {date}",
            "Hello {name},\n\nnobody has logged in to your VEV-IQ account or charged with it "
            "for {months} months. As our privacy policy promises, your personal data (profile, "
            "cards, vehicles, payment details) will be erased on {date}; your past sessions "
            "and invoices stay for accounting, without your name.\n\nTo keep your account, "
            "simply log in before that date:\n{link}\n\nIf you let it go, there is nothing to do.",
        ),
        Language.FR: (
            "Votre compte VEV-IQ sera effacé le {date}",
            "Bonjour {name},\n\npersonne ne s'est connecté à votre compte VEV-IQ ni n'a rechargé "
            "avec depuis {months} mois. Comme le promet notre politique de confidentialité, vos "
            "données personnelles (profil, badges, véhicules, moyens de paiement) seront "
            "effacées le {date} ; vos sessions et factures passées restent pour la "
            "comptabilité, sans votre nom.\n\nPour garder votre compte, connectez-vous "
            "simplement avant cette date :\n{link}\n\nSi vous le laissez partir, il n'y a rien "
            "à faire.",
        ),
        Language.DE: (
            "Ihr VEV-IQ-Konto wird am {date} gelöscht",
            "Hallo {name},\n\nseit {months} Monaten hat sich niemand bei Ihrem VEV-IQ-Konto "
            "angemeldet oder damit geladen. Wie in unserer Datenschutzerklärung zugesagt, "
            "werden Ihre personenbezogenen Daten (Profil, Karten, Fahrzeuge, Zahlungsdaten) am "
            "{date} gelöscht; Ihre bisherigen Ladevorgänge und Rechnungen bleiben für die "
            "Buchhaltung erhalten, ohne Ihren Namen.\n\nUm Ihr Konto zu behalten, melden Sie "
            "sich einfach vor diesem Datum an:\n{link}\n\nWenn Sie es gehen lassen, müssen Sie "
            "nichts tun.",
        ),
    },
    # After the erasure, to the address that is being forgotten (the last mail it gets).
    "erased": {
        Language.EN: (
            "Your VEV-IQ personal data has been erased",
            "Hello,\n\nas {why}, the personal data of your VEV-IQ account has been erased: "
            "profile, cards, vehicles, payment details and logins. Your past sessions and "
            "invoices are kept for accounting under a pseudonym that nobody can trace back to "
            "you.\n\nThis is the last mail you receive from us.",
        ),
        Language.FR: (
            "Vos données personnelles VEV-IQ ont été effacées",
            "Bonjour,\n\n{why}, les données personnelles de votre compte VEV-IQ ont été "
            "effacées : profil, badges, véhicules, moyens de paiement et connexions. Vos "
            "sessions et factures passées sont conservées pour la comptabilité sous un "
            "pseudonyme que personne ne peut relier à vous.\n\nC'est le dernier e-mail que vous "
            "recevez de notre part.",
        ),
        Language.DE: (
            "Ihre personenbezogenen VEV-IQ-Daten wurden gelöscht",
            "Hallo,\n\n{why} wurden die personenbezogenen Daten Ihres VEV-IQ-Kontos gelöscht: "
            "Profil, Karten, Fahrzeuge, Zahlungsdaten und Anmeldungen. Ihre bisherigen "
            "Ladevorgänge und Rechnungen bleiben für die Buchhaltung unter einem Pseudonym "
            "erhalten, das niemand auf Sie zurückführen kann.\n\nDies ist die letzte E-Mail, "
            "die Sie von uns erhalten.",
        ),
    },
    "why_request": {
        Language.EN: ("", "you asked"),
        Language.FR: ("", "Comme vous l'avez demandé"),
        Language.DE: ("", "Wie von Ihnen gewünscht,"),
    },
    "why_inactivity": {
        Language.EN: ("", "announced, after a long time without use"),
        Language.FR: ("", "Comme annoncé, après une longue période sans utilisation"),
        Language.DE: ("", "Wie angekündigt, nach langer Zeit ohne Nutzung,"),
    },
}


def text(kind: str, language: Language) -> str:
    return _TEXTS[kind].get(language, _TEXTS[kind][Language.EN])[1]


def render(kind: str, language: Language, to: str, **values: object) -> Mail:
    subject, body = _TEXTS[kind].get(language, _TEXTS[kind][Language.EN])
    return Mail(to=to, subject=subject.format(**values), body=body.format(**values))

"""The account emails, in each user's language."""

from __future__ import annotations

from backend.db.models import Language
from backend.domain.mailer import Mail

_TEXTS: dict[str, dict[Language, tuple[str, str]]] = {
    "verify": {
        Language.EN: (
            "Confirm your VEV-IQ account",
            "Hello {name},\n\nPlease confirm your email address by opening this link:\n{link}\n\n"
            "The link is valid for {hours} hours. If you did not sign up, ignore this email.",
        ),
        Language.FR: (
            "Confirmez votre compte VEV-IQ",
            "Bonjour {name},\n\nVeuillez confirmer votre adresse e-mail en ouvrant ce lien :\n"
            "{link}\n\nLe lien est valable {hours} heures. Si vous ne vous êtes pas inscrit, "
            "ignorez cet e-mail.",
        ),
        Language.DE: (
            "Bestätigen Sie Ihr VEV-IQ-Konto",
            "Hallo {name},\n\nbitte bestätigen Sie Ihre E-Mail-Adresse über diesen Link:\n{link}"
            "\n\nDer Link ist {hours} Stunden gültig. Wenn Sie sich nicht registriert haben, "
            "ignorieren Sie diese E-Mail.",
        ),
    },
    "reset": {
        Language.EN: (
            "Reset your VEV-IQ password",
            "Hello {name},\n\nTo choose a new password, open this link:\n{link}\n\n"
            "The link is valid for {minutes} minutes and works once. If you did not ask for it, "
            "ignore this email: your password stays as it is.",
        ),
        Language.FR: (
            "Réinitialisez votre mot de passe VEV-IQ",
            "Bonjour {name},\n\nPour choisir un nouveau mot de passe, ouvrez ce lien :\n{link}\n\n"
            "Le lien est valable {minutes} minutes et une seule fois. Si vous ne l'avez pas "
            "demandé, ignorez cet e-mail : votre mot de passe reste inchangé.",
        ),
        Language.DE: (
            "Setzen Sie Ihr VEV-IQ-Passwort zurück",
            "Hallo {name},\n\num ein neues Passwort zu wählen, öffnen Sie diesen Link:\n{link}\n\n"
            "Der Link ist {minutes} Minuten und nur einmal gültig. Wenn Sie das nicht angefordert "
            "haben, ignorieren Sie diese E-Mail: Ihr Passwort bleibt unverändert.",
        ),
    },
    # Someone signed up with the address of an existing account (the sign-up itself answers
    # as for a new account, so that it does not tell who has one).
    "account_exists": {
        Language.EN: (
            "Your VEV-IQ account",
            "Hello {name},\n\nsomeone, perhaps you, tried to create a VEV-IQ account with this "
            "email address, which already has one. Log in here:\n{login}\n\nForgot your "
            "password? Choose a new one with this link (valid {minutes} minutes, once):\n{link}"
            "\n\nIf it was not you, ignore this email: nothing has changed.",
        ),
        Language.FR: (
            "Votre compte VEV-IQ",
            "Bonjour {name},\n\nquelqu'un, peut-être vous, a essayé de créer un compte VEV-IQ "
            "avec cette adresse e-mail, qui en a déjà un. Connectez-vous ici :\n{login}\n\n"
            "Mot de passe oublié ? Choisissez-en un nouveau avec ce lien (valable {minutes} "
            "minutes, une seule fois) :\n{link}\n\nSi ce n'était pas vous, ignorez cet "
            "e-mail : rien n'a changé.",
        ),
        Language.DE: (
            "Ihr VEV-IQ-Konto",
            "Hallo {name},\n\njemand, vielleicht Sie, hat versucht, mit dieser E-Mail-Adresse "
            "ein VEV-IQ-Konto anzulegen; sie hat bereits eines. Hier melden Sie sich an:\n"
            "{login}\n\nPasswort vergessen? Wählen Sie mit diesem Link ein neues ({minutes} "
            "Minuten und nur einmal gültig):\n{link}\n\nWenn Sie es nicht waren, ignorieren "
            "Sie diese E-Mail: Es hat sich nichts geändert.",
        ),
    },
    # Sent by the billing worker with the invoice's PDF attached.
    "invoice": {
        Language.EN: (
            "Your VEV-IQ invoice {number}",
            "Hello {name},\n\nyour invoice {number} of {date} is attached: {total} including "
            "VAT.{online}\n\nYou can also download it from VEV-IQ:\n{link}\n\n"
            "Thank you for charging with us.",
        ),
        Language.FR: (
            "Votre facture VEV-IQ {number}",
            "Bonjour {name},\n\nvous trouverez ci-joint votre facture {number} du {date} : "
            "{total} TTC.{online}\n\nVous pouvez aussi la télécharger depuis VEV-IQ :\n{link}"
            "\n\nMerci d'avoir rechargé chez nous.",
        ),
        Language.DE: (
            "Ihre VEV-IQ-Rechnung {number}",
            "Hallo {name},\n\nanbei Ihre Rechnung {number} vom {date}: {total} inklusive "
            "MwSt.{online}\n\nSie können sie auch in VEV-IQ herunterladen:\n{link}\n\n"
            "Vielen Dank, dass Sie bei uns geladen haben.",
        ),
    },
    # The provider's page for the invoice (pay it, see its status), when there is one.
    "invoice_online": {
        Language.EN: ("", "\nView or pay it online: {url}"),
        Language.FR: ("", "\nLa consulter ou la régler en ligne : {url}"),
        Language.DE: ("", "\nOnline ansehen oder bezahlen: {url}"),
    },
}


def render(kind: str, language: Language, to: str, **values: object) -> Mail:
    subject, body = _TEXTS[kind].get(language, _TEXTS[kind][Language.EN])
    return Mail(to=to, subject=subject.format(**values), body=body.format(**values))

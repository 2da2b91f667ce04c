"""Data rights: access and portability (`export`), restriction and objection (`restrictions`,
the one filter every purpose applies; `preferences`, setting them; `notifications`, the gate of
non-essential mails), erasure (`erasure` on request, `erasure_job` after inactivity, `mails`),
consent history and withdrawal (`consent_history`). Correction is the profile, card and vehicle
services themselves, which audit every change by field name."""

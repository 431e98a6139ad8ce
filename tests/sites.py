"""Sites the size of real ones: 1 to 16 services with the long names town halls use.

``big_site(n)`` writes a site file in the example town hall's shape (languages, priority
reasons, the kiosk's offline range) with the first ``n`` of ``LONG_NAMES``, each open every
weekday 08:30-17:00 except "Urbanisme" (closed on Mondays), one counter per service; with
``categories``, sorted into the four categories of a one-stop desk.
"""

from __future__ import annotations

from pathlib import Path

LONG_NAMES: list[tuple[str, str]] = [
    ("Passeports et cartes nationales d'identité", "Passports and national identity cards"),
    ("Centre communal d'action sociale (CCAS)", "Municipal social action centre (CCAS)"),
    ("Urbanisme et permis de construire", "Town planning and building permits"),
    ("Inscriptions scolaires et périscolaires", "School and after-school enrolment"),
    ("État civil : naissances, mariages, décès", "Civil status: births, marriages, deaths"),
    ("Élections et listes électorales", "Elections and electoral rolls"),
    ("Cimetières et concessions funéraires", "Cemeteries and burial plots"),
    ("Recensement citoyen et journée défense", "Citizen census and defence day"),
    ("Logement social et demandes de logement", "Social housing applications"),
    ("Restauration scolaire et accueils de loisirs", "School meals and holiday clubs"),
    ("Occupation du domaine public et terrasses", "Use of public space and terraces"),
    ("Associations et réservation de salles", "Associations and room booking"),
    (
        "Petite enfance : crèches et assistantes maternelles",
        "Early childhood: nurseries, childminders",
    ),
    ("Attestations d'accueil et légalisation de signature", "Hosting certificates and signatures"),
    ("Objets trouvés et animaux errants", "Lost property and stray animals"),
    ("Services techniques et signalements de voirie", "Technical services and road reports"),
]
ICONS = ["passport", "hands", "building", "family", "document", "calendar", "clock", "document"]
CLOSED_ON_MONDAY = 2
"""Index of the service closed on Mondays (Urbanisme)."""


CATEGORIES = [
    ("papiers", "Papiers d'identité et citoyenneté", "Identity papers and citizenship", "passport"),
    ("famille", "Famille, enfance et solidarité", "Family, childhood and support", "family"),
    ("cadre", "Logement, urbanisme et voirie", "Housing, planning and roads", "building"),
    ("vie", "Vie locale et démarches diverses", "Local life and other requests", "document"),
]
CATEGORY_OF = {0: "papiers", 1: "famille", 2: "cadre", 3: "famille", 4: "famille", 5: "papiers"}
CATEGORY_OF |= {6: "vie", 7: "papiers", 8: "cadre", 9: "famille", 10: "cadre", 11: "vie"}
CATEGORY_OF |= {12: "famille", 13: "papiers", 14: "vie", 15: "cadre"}
"""Which category each of LONG_NAMES belongs to, in a one-stop desk that sorts needs."""


def big_site(path: Path, n: int, categories: bool = False) -> Path:
    days = ("mon", "tue", "wed", "thu", "fri")
    lines = [
        "[site]",
        'id = "mairie"',
        'name = "Mairie de Saint-Exemple"',
        'timezone = "Europe/Paris"',
        'languages = ["fr", "en"]',
        'priority_reasons = ["pregnancy", "disability", "age"]',
    ]
    for i, (fr, en) in enumerate(LONG_NAMES[:n]):
        open_days = days[1:] if i == CLOSED_ON_MONDAY else days
        hours = ", ".join(f'{d} = ["08:30-17:00"]' for d in open_days)
        prefix = chr(ord("A") + i)
        lines += [
            "",
            "[[services]]",
            f'id = "s{i + 1}"',
            f'prefix = "{prefix}"',
            f'names = {{ fr = "{fr}", en = "{en}" }}',
            f'icon = "{ICONS[i % len(ICONS)]}"',
            "mean_service_minutes = 10",
            "priority_allowed = true",
            f"hours = {{ {hours} }}",
        ]
        if categories:
            lines.append(f'category = "{CATEGORY_OF[i]}"')
    if categories:
        for cid, fr, en, icon in CATEGORIES:
            lines += ["", "[[categories]]", f'id = "{cid}"', f'icon = "{icon}"']
            lines.append(f'names = {{ fr = "{fr}", en = "{en}" }}')
    for i in range(n):
        lines += ["", "[[counters]]", f'id = "{i + 1}"', f'label = "Guichet {i + 1}"']
        lines.append(f'services = ["s{i + 1}"]')
    lines += [
        "",
        "[[devices]]",
        'id = "kiosk-entree"',
        'role = "kiosk"',
        "offline_range = [900, 999]",
    ]
    lines += ["", "[[devices]]", 'id = "board-salle"', 'role = "display"']
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


ARABIC_NAMES = [
    "جوازات السفر وبطاقات الهوية الوطنية",
    "المركز البلدي للعمل الاجتماعي (CCAS)",
    "التعمير ورخص البناء",
    "التسجيل المدرسي والأنشطة بعد المدرسة",
    "الحالة المدنية: الولادات والزواج والوفيات",
]
"""The first five of LONG_NAMES in Arabic."""


def multilingual_site(path: Path, languages: list[str], n: int = 5) -> Path:
    """``big_site(path, n)`` in ``languages``, its first services named in Arabic too."""
    site = big_site(path, n)
    text = site.read_text(encoding="utf-8")
    text = text.replace('languages = ["fr", "en"]', f"languages = {languages!r}".replace("'", '"'))
    for (_, en), name in zip(LONG_NAMES, ARABIC_NAMES, strict=False):
        text = text.replace(f'en = "{en}" }}', f'en = "{en}", ar = "{name}" }}', 1)
    site.write_text(text, encoding="utf-8")
    return site

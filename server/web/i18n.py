"""French and English texts of the web pages.

One dictionary per language, same keys. A page's language is, in order: the ``lang`` query
parameter (the switch in the header, remembered in a cookie), the cookie, the site's first
language, French. A key missing from a catalog falls back to French, then to the key itself,
so a forgotten translation shows up as readable text, never as an error page.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from server.web import booking_texts

DEFAULT_LANG = "fr"

FR: dict[str, str] = {
    # frame
    "app.name": "Guichet",
    "app.tagline": "Accueil du public",
    "nav.console": "Guichet agent",
    "nav.admin": "Administration",
    "nav.stats": "Statistiques",
    "nav.home": "Accueil",
    "nav.login": "Connexion",
    "nav.logout": "Déconnexion",
    "nav.language": "Langue",
    "nav.skip": "Aller au contenu",
    "nav.signed_in_as": "Connecté : {user}",
    "footer.text": "Guichet — gestion de l'accueil du public",
    # roles
    "role.agent": "agent",
    "role.manager": "responsable",
    "role.admin": "administrateur",
    "role.superadmin": "administrateur de tous les sites",
    # landing
    "home.title": "Accueil du public",
    "home.lead": "Choisissez un lieu d'accueil.",
    "home.no_site": "Aucun lieu d'accueil n'est encore configuré.",
    "home.wait": "Attente en direct",
    "home.services": "{n} services",
    "home.staff": "Espace agents",
    "home.staff_lead": "Réservé au personnel : guichet, administration, statistiques.",
    # login
    "login.title": "Connexion du personnel",
    "login.username": "Identifiant",
    "login.password": "Mot de passe",
    "login.submit": "Se connecter",
    "login.failed": "Identifiant ou mot de passe incorrect.",
    "login.expired": "Votre session a expiré. Reconnectez-vous.",
    "login.required": "Connectez-vous pour accéder à cette page.",
    "login.forbidden": "Votre compte n'a pas accès à cette page.",
    "login.logged_out": "Vous êtes déconnecté.",
    # errors
    "error.title": "Page indisponible",
    "error.not_found": "Cette page n'existe pas ou plus.",
    "error.method": "Cette adresse ne s'ouvre pas de cette façon.",
    "error.bad_request": "La demande n'a pas pu être traitée.",
    "error.forbidden": "Vous n'avez pas accès à cette page.",
    "error.csrf": "Le formulaire a expiré. Rechargez la page et recommencez.",
    "error.rate": "Trop de demandes. Patientez quelques secondes.",
    "error.back": "Retour à l'accueil",
    # console
    "console.title": "Guichet agent",
    "console.choose": "Choisissez votre guichet",
    "console.choose_lead": "Vous appellerez les usagers des services de ce guichet.",
    "console.no_counter": "Aucun guichet n'est configuré pour ce lieu.",
    "console.counter": "Guichet",
    "console.open": "Ouvert",
    "console.closed": "Fermé",
    "console.open_action": "Ouvrir le guichet",
    "console.close_action": "Fermer le guichet",
    "console.change": "Changer de guichet",
    "console.tablet": "Tablette « votre avis »",
    "console.current": "Usager en cours",
    "console.none": "Aucun usager appelé.",
    "console.called_since": "Appelé depuis",
    "console.waited": "A attendu",
    "console.recalls": "Rappels",
    "console.next": "Suivant",
    "console.recall": "Rappeler",
    "console.done": "Terminé",
    "console.absent": "Absent",
    "console.transfer": "Transférer",
    "console.transfer_to": "Transférer vers",
    "console.queue": "File d'attente",
    "console.queue_lead": "Services de ce guichet, dans l'ordre d'appel.",
    "console.empty": "Personne n'attend.",
    "console.waiting_count": "{n} en attente",
    "console.ticket": "Ticket",
    "console.service": "Service",
    "console.waiting": "Attente",
    "console.priority": "Prioritaire",
    "console.live": "Mise à jour en direct",
    "console.offline": "Connexion perdue — nouvelle tentative…",
    "console.nobody": "Personne n'attend pour ce guichet.",
    "console.closed_hint": "Guichet fermé. « Suivant » l'ouvre et appelle le premier usager.",
    "console.action_failed": "Action impossible : {reason}",
    "console.called": "{label} appelé au {counter}.",
    "console.recalled": "{label} rappelé.",
    "console.finished": "{label} : terminé.",
    "console.marked_absent": "{label} marqué absent.",
    "console.transferred": "{label} transféré vers {service}.",
    "console.opened": "Guichet ouvert.",
    "console.closed_now": "Guichet fermé.",
    "console.absent_pending": "{label} sera marqué absent dans {n} s.",
    "console.undo": "Annuler",
    "console.undone": "Absence annulée : {label} reste à votre guichet.",
    "console.summary": "{n} en attente pour ce guichet. Prochain : {next}.",
    "console.summary_empty": "Personne n'attend pour ce guichet.",
    "console.announcements": "Annonces du guichet",
    # admin
    "admin.title": "Administration",
    "admin.site": "Lieu",
    "admin.services": "Services",
    "admin.counters": "Guichets",
    "admin.devices": "Appareils",
    "admin.fleet": "État du parc",
    "admin.config_version": "Version de configuration",
    "admin.add_service": "Ajouter un service",
    "admin.edit_service": "Modifier le service",
    "admin.add_counter": "Ajouter un guichet",
    "admin.edit_counter": "Modifier le guichet",
    "admin.add_device": "Ajouter un appareil",
    "admin.edit": "Modifier",
    "admin.delete": "Supprimer",
    "admin.save": "Enregistrer",
    "admin.cancel": "Annuler",
    "admin.saved": (
        "Enregistré. Les bornes et écrans le prendront à leur prochaine synchronisation."
    ),
    "admin.deleted": "Supprimé.",
    "admin.id": "Identifiant",
    "admin.id_help": "Minuscules, chiffres, - _ . ; ne change plus ensuite.",
    "admin.prefix": "Lettre",
    "admin.prefix_help": "Une ou deux majuscules avant le numéro (A donne A042).",
    "admin.name_in": "Nom ({lang})",
    "admin.hours": "Horaires",
    "admin.hours_help": "Périodes HH:MM-HH:MM séparées par des virgules ; vide : fermé.",
    "admin.closing": "Fin de distribution",
    "admin.closing_help": "Minutes avant la fermeture où la borne cesse de donner des tickets.",
    "admin.mean_minutes": "Durée moyenne (min)",
    "admin.mean_help": "Point de départ de l'estimation de l'attente.",
    "admin.priority": "Tickets prioritaires",
    "admin.priority_allowed": "Proposer un ticket prioritaire",
    "admin.yes": "oui",
    "admin.no": "non",
    "admin.label": "Libellé",
    "admin.label_help": "Ce que l'écran affiche et annonce : « Guichet 3 ».",
    "admin.counter_services": "Services traités (ordre de préférence)",
    "admin.counter_services_help": "Cochez les services ; le rang fixe l'ordre de préférence.",
    "admin.rank": "Rang",
    "admin.role": "Rôle",
    "admin.role.kiosk": "borne",
    "admin.role.display": "écran",
    "admin.offline_range": "Plage hors ligne",
    "admin.offline_range_help": "Numéros que la borne peut donner seule sans réseau : 900-999.",
    "admin.token": "Jeton",
    "admin.token_active": "actif",
    "admin.token_revoked": "révoqué",
    "admin.token_none": "aucun",
    "admin.new_token": "Nouveau jeton",
    "admin.revoke": "Révoquer",
    "admin.token_once": (
        "Jeton de l'appareil {device} — copiez-le maintenant, il ne sera plus affiché :"
    ),
    "admin.token_use": "À placer dans le fichier de configuration de l'appareil (device_token).",
    "admin.revoked": "Jeton de {device} révoqué : l'appareil ne peut plus se synchroniser.",
    "admin.confirm_revoke": "Révoquer le jeton de cet appareil ?",
    "admin.embed": "Attente sur le site de la mairie",
    "admin.embed_lead": "Copiez ce code dans une page du site internet :",
    "admin.error_title": "Erreur",
    "admin.error_lead": "Rien n'a été enregistré.",
    "admin.err.id": "Identifiant : minuscules, chiffres, - _ . (63 caractères au plus).",
    "admin.err.id_taken": "Cet identifiant est déjà pris : choisissez-en un autre.",
    "admin.err.prefix": "Lettre : une ou deux majuscules, sans accent (A, B, CN…).",
    "admin.err.prefix_taken": (
        "Un autre service a déjà cette lettre : les numéros se confondraient."
    ),
    "admin.err.name_needed": "Donnez un nom au service (au moins dans la première langue).",
    "admin.err.mean": "Durée moyenne : un nombre de minutes, plus que 0 et au plus 240.",
    "admin.err.whole_minutes": "Un nombre entier de minutes.",
    "admin.err.period": (
        "« {period} » n'est pas une période : écrivez HH:MM-HH:MM, la fin après le début "
        "(08:30-12:00)."
    ),
    "admin.err.label": "Libellé : de 1 à 60 caractères.",
    "admin.err.role": "Choisissez borne ou écran.",
    "admin.err.range": "Plage : deux nombres séparés par un tiret, comme 900-999.",
    "admin.err.range_bounds": "Plage : du plus petit au plus grand numéro, de 1 à 999 999.",
    "admin.err.range_overlap": (
        "Cette plage chevauche celle d'un autre appareil : deux bornes donneraient le même numéro."
    ),
    "admin.err.tick_service": "Cochez au moins un service pour ce guichet.",
    "admin.err.last_service": "Un lieu garde au moins un service.",
    "admin.err.counter_needs_service": (
        "{counter} ne traite que ce service : donnez-lui d'abord un autre service."
    ),
    "admin.err.other": "La configuration n'est pas valable ({detail}).",
    "admin.none": "Aucun.",
    # fleet
    "fleet.device": "Appareil",
    "fleet.status": "État",
    "fleet.printer": "Imprimante",
    "fleet.buttons": "Boîtier d'appel",
    "fleet.last_sync": "Dernière synchro",
    "fleet.version": "Version",
    "fleet.offline_since": "depuis",
    "fleet.online": "en ligne",
    "fleet.offline": "hors ligne",
    "fleet.never": "jamais vu",
    "fleet.unknown": "inconnu",
    "fleet.printer.ready": "prête",
    "fleet.printer.paper_near_end": "papier bientôt épuisé",
    "fleet.printer.paper_out": "plus de papier",
    "fleet.printer.cover_open": "capot ouvert",
    "fleet.printer.error": "en erreur",
    "fleet.printer.offline": "hors ligne",
    "fleet.printer.unknown": "état inconnu",
    "fleet.buttons.connected": "connecté",
    "fleet.buttons.connecting": "connexion…",
    "fleet.buttons.disconnected": "déconnecté",
    "fleet.buttons.not configured": "non configuré",
    "admin.closing_rule": "dernier ticket quand l'appel estimé dépasse la fermeture",
    "admin.closing_minutes": "{n} min avant la fermeture",
    "admin.stale": "La configuration a changé entre-temps : vérifiez et recommencez.",
    "admin.site_file": (
        "Attention : ce lieu est aussi décrit par un fichier chargé au démarrage du "
        "serveur ({path}) ; au prochain redémarrage, ce fichier remplacera les "
        "modifications faites ici."
    ),
    "fleet.ok": "OK",
    "fleet.fault": "en défaut",
    "fleet.lead": "Un appareil silencieux depuis plus de {minutes} minutes est compté hors ligne.",
    "fleet.clock": "Horloge",
    "fleet.clock.unknown": "pas encore mesurée",
    "fleet.clock.ahead": "horloge en avance de {amount}",
    "fleet.clock.behind": "horloge en retard de {amount}",
    "fleet.clock.day": "j",
    "fleet.clock.detail": (
        "L'appareil se règle sur l'heure du serveur ; vérifiez sa synchronisation NTP."
    ),
    "fleet.clock.lead": "Une horloge à plus de {seconds} s de celle du serveur est signalée.",
    # stats
    "stats.visit": "Satisfaction",
    "stats.visit_lead": (
        "Réponses à « Comment s'est passée votre visite ? » (page de suivi et tablette du "
        "guichet), par service où le ticket a fini, pour les tickets de la période."
    ),
    "stats.visit_answers": "Réponses",
    "stats.visit_none": "Aucune réponse sur la période.",
    "stats.appt.title": "Rendez-vous",
    "stats.appt.export": "Exporter les rendez-vous (CSV)",
    "stats.appt.now": "Premier créneau libre maintenant",
    "stats.appt.slot": "{when} (dans {n} j)",
    "stats.appt.none_free": "aucun créneau libre",
    "stats.appt.booked": "Réservés",
    "stats.appt.checked_in": "Arrivés",
    "stats.appt.no_shows": "Absents",
    "stats.appt.on_time": "Reçus à l'heure (15 min)",
    "stats.appt.within_delay": "Dans le délai publié",
    "stats.appt.first_free": "Premier créneau libre ce jour-là",
    "stats.appt.no_data": "Aucun rendez-vous sur cette période.",
    "stats.appt.def.day": (
        "Les rendez-vous comptent au jour de leur heure ; le premier créneau libre est celui "
        "que le serveur a vu la première fois qu'il a regardé ce jour-là."
    ),
    "stats.appt.def.no_shows": (
        "Absents : rendez-vous d'un jour passé, ni annulés ni enregistrés à l'arrivée."
    ),
    "stats.appt.def.on_time": (
        "Reçus à l'heure : parmi les rendez-vous arrivés à temps et appelés, la part appelée "
        "au plus 15 minutes après l'heure du rendez-vous."
    ),
    "stats.appt.def.within_delay": (
        "Dans le délai publié : part des rendez-vous (non annulés) pris au plus tard le délai "
        "publié du service avant leur heure ; vide quand le service n'en publie pas."
    ),
    "stats.appt.def.first_free": (
        "Premier créneau libre : le premier créneau réservable (préavis et horizon compris), "
        "et le nombre de jours entre ce jour-là et lui."
    ),
    "stats.title": "Statistiques",
    "stats.period": "Période",
    "stats.from": "Du",
    "stats.to": "Au",
    "stats.show": "Afficher",
    "stats.export": "Exporter les passages (CSV)",
    "stats.by_day": "Par service et par jour",
    "stats.day": "Jour",
    "stats.service": "Service",
    "stats.tickets": "Tickets",
    "stats.p50": "Attente médiane",
    "stats.p90": "Attente 90 %",
    "stats.within15": "Servis en 15 min ou moins",
    "stats.service_time": "Durée de service",
    "stats.no_shows": "Absents",
    "stats.total": "Total",
    "stats.wait_chart": "Attente par jour (minutes)",
    "stats.tickets_chart": "Tickets par jour et par service",
    "stats.heatmap": "Arrivées par jour de la semaine et par heure",
    "stats.heatmap_lead": "Les heures les plus chargées, à publier pour étaler les visites.",
    "stats.peaks": "Heures de pointe",
    "stats.no_data": "Aucun ticket sur cette période.",
    "stats.minutes": "{n} min",
    "stats.def.title": "Comment ces chiffres sont calculés",
    "stats.def.day": (
        "Jour : celui de la délivrance du ticket (heure du lieu). Un ticket transféré compte un "
        "passage dans chaque service où il est passé : son attente, son appel et sa durée de "
        "service y sont comptés là où ils ont eu lieu."
    ),
    "stats.def.wait": (
        "Attente : de l'arrivée dans la file du service (délivrance ou transfert) à l'appel. "
        "Les passages jamais appelés comptent dans « Tickets », pas dans les attentes."
    ),
    "stats.def.percentiles": (
        "Médiane et 90 % : la moitié, et neuf sur dix, des usagers appelés ont attendu au plus "
        "cette durée (interpolation entre les rangs les plus proches)."
    ),
    "stats.def.within15": (
        "Servis en 15 min ou moins : part des usagers appelés après 15 minutes d'attente au plus."
    ),
    "stats.def.service": (
        "Durée de service : moyenne, de l'appel à la fin (ou au transfert), des passages "
        "servis ou transférés."
    ),
    "stats.hour": "Heure",
    "stats.out_of_range": "Les statistiques couvrent les jours du {bounds}.",
    "stats.period_text": "Du {first} au {last}",
    "stats.transfers": "Transferts",
    "stats.transfers_in": "Reçus par transfert",
    "stats.passages": "Passages",
    "stats.never_called": "Jamais appelés",
    "stats.by_service": "Par service sur la période",
    "stats.by_hour": "Par heure de la journée",
    "stats.whole_site": "Tout le site",
    "stats.scope": "Service",
    "stats.arrivals": "Arrivées",
    "stats.calls": "Appels",
    "stats.def.site": (
        "Tout le site : chaque ticket compte une fois (tickets, absents, jamais appelés) ; les "
        "attentes et durées comptent chaque passage, car un usager transféré attend deux fois."
    ),
    "stats.def.hour": (
        "Par heure : arrivées dans la file du service dans l'heure (pour le site : tickets "
        "délivrés), appels faits dans l'heure, attentes des usagers arrivés dans l'heure."
    ),
    # follow my ticket
    # after the visit
    "visit.question": "Comment s'est passée votre visite ?",
    "visit.good": "Bien",
    "visit.so_so": "Moyen",
    "visit.bad": "Pas bien",
    "visit.thanks": "Merci pour votre réponse.",
    "visit.optional": "Facultatif et anonyme : une seule réponse, rien d'autre n'est demandé.",
    "visit.anonymous": "Anonyme : votre réponse n'est liée qu'à votre ticket.",
    "visit.nothing": "Merci ! Aucune visite récente à noter à ce guichet.",
    "follow.title": "Votre ticket",
    "follow.service": "Service",
    "follow.ahead": "Personnes avant vous",
    "follow.estimate": "Attente estimée",
    "follow.called": "C'est à vous !",
    "follow.called_at": "Présentez-vous au {counter}",
    "follow.served": "Vous avez été reçu. Merci de votre visite.",
    "follow.no_show": "Vous avez été appelé mais n'étiez pas là. Adressez-vous à l'accueil.",
    "follow.cancelled": "Ce ticket a été annulé.",
    "follow.waiting": "En attente",
    "follow.keep_open": "Gardez cette page ouverte : elle se met à jour toute seule.",
    "follow.unknown": "Ce ticket est introuvable ou a expiré.",
    "follow.live": "Suivi en direct",
    "follow.reconnecting": "Connexion perdue — nouvelle tentative…",
    "follow.priority": "Ticket prioritaire",
    "follow.priority_hint": "Vous serez appelé avant les tickets ordinaires.",
    "follow.recalled": "Nouvel appel ({n}) : on vous attend au {counter}.",
    "follow.transferred": (
        "Votre demande a été transmise de « {old} » à « {new} ». Vous gardez votre place d'arrivée."
    ),
    # live wait
    "ind.title": "Nos engagements d'accueil",
    "ind.summary": "Visiteurs reçus : {tickets} · jours d'ouverture : {days}",
    "ind.no_data": "Aucun visiteur ce mois-là.",
    "ind.p50": "Attente médiane (min)",
    "ind.p90": "9 visiteurs sur 10 ont attendu au plus (min)",
    "ind.within15": "Appelés en 15 min ou moins",
    "ind.satisfied": "Visite jugée bonne",
    "ind.satisfied_n": "{share} ({n} réponses)",
    "ind.appointments": "Rendez-vous",
    "ind.appointments_n": "Rendez-vous honorés",
    "ind.appointment_delay": "Retard médian à l'appel (min)",
    "ind.appointment_on_time": "Appelés à l'heure (5 min au plus)",
    "ind.busiest": "Heures les plus chargées",
    "ind.quietest": "Heures les plus calmes",
    "ind.per_day": "{n} arrivées par jour en moyenne",
    "ind.how": (
        "Attente : de l'arrivée dans la file d'un service (ticket ou transfert) à l'appel. "
        "Heures : tickets délivrés dans l'heure, en moyenne par jour d'ouverture."
    ),
    "ind.json": "Ces chiffres en données ouvertes (JSON)",
    "ind.bad_month": "Mois inconnu : indiquez un mois passé ou le mois en cours (AAAA-MM).",
    "admin.embed_indicators": "Nos engagements d'accueil (le mois dernier), à intégrer de même :",
    "wait.title": "Attente en ce moment",
    "wait.service": "Service",
    "wait.people": "Personnes en attente",
    "wait.people_n": "{n} en attente",
    "wait.none": "pas d'attente",
    "wait.estimate": "Attente estimée",
    "wait.closed": "fermé",
    "wait.updated": "Mis à jour à {time}",
    "wait.peaks": "Heures d'affluence habituelles",
    "wait.no_peaks": "Pas encore assez de données.",
    "wait.unavailable": "Information momentanément indisponible.",
    "wait.open_until": "ouvert jusqu'à {time}",
    "elsewhere.title": "Le même service ailleurs",
    "elsewhere.lead": "D'autres lieux d'accueil proposent aussi ce service.",
    "elsewhere.wait": "Attente : {wait}",
    "elsewhere.closed": "Fermé en ce moment",
    "elsewhere.slot": "Premier rendez-vous libre : {when}",
    "elsewhere.no_slot": "Aucun rendez-vous libre pour l'instant",
    "elsewhere.book": "Prendre rendez-vous : {site}",
    "weekday.0": "lundi",
    "weekday.1": "mardi",
    "weekday.2": "mercredi",
    "weekday.3": "jeudi",
    "weekday.4": "vendredi",
    "weekday.5": "samedi",
    "weekday.6": "dimanche",
    "weekday_short.0": "lun.",
    "weekday_short.1": "mar.",
    "weekday_short.2": "mer.",
    "weekday_short.3": "jeu.",
    "weekday_short.4": "ven.",
    "weekday_short.5": "sam.",
    "weekday_short.6": "dim.",
    **booking_texts.FR,
}

EN: dict[str, str] = {
    "app.name": "Guichet",
    "app.tagline": "Public reception",
    "nav.console": "Agent console",
    "nav.admin": "Administration",
    "nav.stats": "Statistics",
    "nav.home": "Home",
    "nav.login": "Sign in",
    "nav.logout": "Sign out",
    "nav.language": "Language",
    "nav.skip": "Skip to content",
    "nav.signed_in_as": "Signed in: {user}",
    "footer.text": "Guichet — public reception queue management",
    "role.agent": "agent",
    "role.manager": "manager",
    "role.admin": "administrator",
    "role.superadmin": "administrator of every site",
    "home.title": "Public reception",
    "home.lead": "Choose a reception desk.",
    "home.no_site": "No reception desk is configured yet.",
    "home.wait": "Live waiting time",
    "home.services": "{n} services",
    "home.staff": "Staff area",
    "home.staff_lead": "Staff only: counters, administration, statistics.",
    "login.title": "Staff sign-in",
    "login.username": "Username",
    "login.password": "Password",
    "login.submit": "Sign in",
    "login.failed": "Wrong username or password.",
    "login.expired": "Your session has expired. Please sign in again.",
    "login.required": "Sign in to open this page.",
    "login.forbidden": "Your account cannot open this page.",
    "login.logged_out": "You are signed out.",
    "error.title": "Page unavailable",
    "error.not_found": "This page does not exist.",
    "error.method": "This address cannot be opened this way.",
    "error.bad_request": "The request could not be handled.",
    "error.forbidden": "You do not have access to this page.",
    "error.csrf": "The form has expired. Reload the page and try again.",
    "error.rate": "Too many requests. Please wait a few seconds.",
    "error.back": "Back to the home page",
    "console.title": "Agent console",
    "console.choose": "Choose your counter",
    "console.choose_lead": "You will call the visitors of this counter's services.",
    "console.no_counter": "No counter is configured for this site.",
    "console.counter": "Counter",
    "console.open": "Open",
    "console.closed": "Closed",
    "console.open_action": "Open the counter",
    "console.close_action": "Close the counter",
    "console.change": "Change counter",
    "console.tablet": "“Your opinion” tablet",
    "console.current": "Current visitor",
    "console.none": "No visitor called.",
    "console.called_since": "Called for",
    "console.waited": "Waited",
    "console.recalls": "Recalls",
    "console.next": "Next",
    "console.recall": "Recall",
    "console.done": "Done",
    "console.absent": "Absent",
    "console.transfer": "Transfer",
    "console.transfer_to": "Transfer to",
    "console.queue": "Queue",
    "console.queue_lead": "This counter's services, in calling order.",
    "console.empty": "Nobody is waiting.",
    "console.waiting_count": "{n} waiting",
    "console.ticket": "Ticket",
    "console.service": "Service",
    "console.waiting": "Waiting",
    "console.priority": "Priority",
    "console.live": "Live updates",
    "console.offline": "Connection lost — retrying…",
    "console.nobody": "Nobody is waiting for this counter.",
    "console.closed_hint": "Counter closed. “Next” opens it and calls the first visitor.",
    "console.action_failed": "Action refused: {reason}",
    "console.called": "{label} called to {counter}.",
    "console.recalled": "{label} called again.",
    "console.finished": "{label}: done.",
    "console.marked_absent": "{label} marked absent.",
    "console.transferred": "{label} transferred to {service}.",
    "console.opened": "Counter open.",
    "console.closed_now": "Counter closed.",
    "console.absent_pending": "{label} will be marked absent in {n} s.",
    "console.undo": "Undo",
    "console.undone": "Absence cancelled: {label} stays at your counter.",
    "console.summary": "{n} waiting for this counter. Next: {next}.",
    "console.summary_empty": "Nobody is waiting for this counter.",
    "console.announcements": "Counter announcements",
    "admin.title": "Administration",
    "admin.site": "Site",
    "admin.services": "Services",
    "admin.counters": "Counters",
    "admin.devices": "Devices",
    "admin.fleet": "Fleet health",
    "admin.config_version": "Configuration version",
    "admin.add_service": "Add a service",
    "admin.edit_service": "Edit service",
    "admin.add_counter": "Add a counter",
    "admin.edit_counter": "Edit counter",
    "admin.add_device": "Add a device",
    "admin.edit": "Edit",
    "admin.delete": "Delete",
    "admin.save": "Save",
    "admin.cancel": "Cancel",
    "admin.saved": "Saved. Kiosks and boards pick it up at their next sync.",
    "admin.deleted": "Deleted.",
    "admin.id": "Identifier",
    "admin.id_help": "Lower case, digits, - _ . ; cannot change later.",
    "admin.prefix": "Letter",
    "admin.prefix_help": "One or two capitals before the number (A gives A042).",
    "admin.name_in": "Name ({lang})",
    "admin.hours": "Opening hours",
    "admin.hours_help": "Periods HH:MM-HH:MM separated by commas; empty: closed.",
    "admin.closing": "Last ticket",
    "admin.closing_help": "Minutes before closing time when the kiosk stops issuing tickets.",
    "admin.mean_minutes": "Mean service (min)",
    "admin.mean_help": "Starting point of the waiting-time estimate.",
    "admin.priority": "Priority tickets",
    "admin.priority_allowed": "Offer a priority ticket",
    "admin.yes": "yes",
    "admin.no": "no",
    "admin.label": "Label",
    "admin.label_help": "What the board shows and says: “Counter 3”.",
    "admin.counter_services": "Services taken (preference order)",
    "admin.counter_services_help": "Tick the services; the rank sets the preference order.",
    "admin.rank": "Rank",
    "admin.role": "Role",
    "admin.role.kiosk": "kiosk",
    "admin.role.display": "board",
    "admin.offline_range": "Offline range",
    "admin.offline_range_help": "Numbers the kiosk may issue alone without network: 900-999.",
    "admin.token": "Token",
    "admin.token_active": "active",
    "admin.token_revoked": "revoked",
    "admin.token_none": "none",
    "admin.new_token": "New token",
    "admin.revoke": "Revoke",
    "admin.token_once": "Token of device {device} — copy it now, it will not be shown again:",
    "admin.token_use": "Put it in the device's configuration file (device_token).",
    "admin.revoked": "Token of {device} revoked: the device can no longer sync.",
    "admin.confirm_revoke": "Revoke this device's token?",
    "admin.embed": "Waiting time on the town's website",
    "admin.embed_lead": "Copy this code into a page of the website:",
    "admin.error_title": "Error",
    "admin.error_lead": "Nothing was saved.",
    "admin.err.id": "Identifier: lower case, digits, - _ . (63 characters at most).",
    "admin.err.id_taken": "This identifier is already taken: choose another one.",
    "admin.err.prefix": "Letter: one or two capitals, no accents (A, B, CN…).",
    "admin.err.prefix_taken": "Another service already has this letter: numbers would be confused.",
    "admin.err.name_needed": "Give the service a name (at least in the first language).",
    "admin.err.mean": "Mean duration: a number of minutes, more than 0 and at most 240.",
    "admin.err.whole_minutes": "A whole number of minutes.",
    "admin.err.period": (
        "“{period}” is not a period: write HH:MM-HH:MM, the end after the start (08:30-12:00)."
    ),
    "admin.err.label": "Label: 1 to 60 characters.",
    "admin.err.role": "Choose kiosk or board.",
    "admin.err.range": "Range: two numbers with a dash between them, like 900-999.",
    "admin.err.range_bounds": "Range: from the lowest to the highest number, from 1 to 999,999.",
    "admin.err.range_overlap": (
        "This range overlaps another device's: two kiosks would print the same number."
    ),
    "admin.err.tick_service": "Tick at least one service for this counter.",
    "admin.err.last_service": "A site keeps at least one service.",
    "admin.err.counter_needs_service": (
        "{counter} takes only this service: give it another service first."
    ),
    "admin.err.other": "The configuration is not valid ({detail}).",
    "admin.none": "None.",
    "fleet.device": "Device",
    "fleet.status": "Status",
    "fleet.printer": "Printer",
    "fleet.buttons": "Call buttons",
    "fleet.last_sync": "Last sync",
    "fleet.version": "Version",
    "fleet.offline_since": "since",
    "fleet.online": "online",
    "fleet.offline": "offline",
    "fleet.never": "never seen",
    "fleet.unknown": "unknown",
    "fleet.printer.ready": "ready",
    "fleet.printer.paper_near_end": "paper low",
    "fleet.printer.paper_out": "out of paper",
    "fleet.printer.cover_open": "cover open",
    "fleet.printer.error": "error",
    "fleet.printer.offline": "offline",
    "fleet.printer.unknown": "status unknown",
    "fleet.buttons.connected": "connected",
    "fleet.buttons.connecting": "connecting…",
    "fleet.buttons.disconnected": "disconnected",
    "fleet.buttons.not configured": "not configured",
    "admin.closing_rule": "last ticket when the estimated call passes closing time",
    "admin.closing_minutes": "{n} min before closing",
    "admin.stale": "The configuration changed meanwhile: check and try again.",
    "admin.site_file": (
        "Warning: this site is also described by a file loaded when the server starts "
        "({path}); at the next restart that file will replace the changes made here."
    ),
    "fleet.ok": "OK",
    "fleet.fault": "faulty",
    "fleet.lead": "A device silent for more than {minutes} minutes counts as offline.",
    "fleet.clock": "Clock",
    "fleet.clock.unknown": "not measured yet",
    "fleet.clock.ahead": "clock {amount} ahead",
    "fleet.clock.behind": "clock {amount} behind",
    "fleet.clock.day": "d",
    "fleet.clock.detail": "The device sets its time by the server's; check its NTP sync.",
    "fleet.clock.lead": "A clock more than {seconds} s away from the server's is flagged.",
    "stats.visit": "Satisfaction",
    "stats.visit_lead": (
        "Answers to “How was your visit?” (follow page and counter tablet), by the service "
        "where the ticket ended, for the period's tickets."
    ),
    "stats.visit_answers": "Answers",
    "stats.visit_none": "No answer over the period.",
    "stats.appt.title": "Appointments",
    "stats.appt.export": "Export appointments (CSV)",
    "stats.appt.now": "First free slot now",
    "stats.appt.slot": "{when} (in {n} d)",
    "stats.appt.none_free": "no free slot",
    "stats.appt.booked": "Booked",
    "stats.appt.checked_in": "Arrived",
    "stats.appt.no_shows": "No-shows",
    "stats.appt.on_time": "Seen on time (15 min)",
    "stats.appt.within_delay": "Within the published delay",
    "stats.appt.first_free": "First free slot that day",
    "stats.appt.no_data": "No appointment over the period.",
    "stats.appt.def.day": (
        "Appointments count on the day of their time; the first free slot is the one the "
        "server saw the first time it looked that day."
    ),
    "stats.appt.def.no_shows": (
        "No-shows: appointments of a past day neither cancelled nor checked in."
    ),
    "stats.appt.def.on_time": (
        "Seen on time: of the appointments checked in in time and called, the share called "
        "at most 15 minutes after the appointment's time."
    ),
    "stats.appt.def.within_delay": (
        "Within the published delay: share of the (not cancelled) appointments booked at most "
        "the service's published delay before their time; empty when the service publishes none."
    ),
    "stats.appt.def.first_free": (
        "First free slot: the first bookable slot (notice and horizon included), and the days "
        "from that day to it."
    ),
    "stats.title": "Statistics",
    "stats.period": "Period",
    "stats.from": "From",
    "stats.to": "To",
    "stats.show": "Show",
    "stats.export": "Export passages (CSV)",
    "stats.by_day": "By service and day",
    "stats.day": "Day",
    "stats.service": "Service",
    "stats.tickets": "Tickets",
    "stats.p50": "Median wait",
    "stats.p90": "90th percentile wait",
    "stats.within15": "Served within 15 min",
    "stats.service_time": "Service time",
    "stats.no_shows": "No-shows",
    "stats.total": "Total",
    "stats.wait_chart": "Waiting time per day (minutes)",
    "stats.tickets_chart": "Tickets per day and service",
    "stats.heatmap": "Arrivals by weekday and hour",
    "stats.heatmap_lead": "The busiest hours, to publish so visits spread out.",
    "stats.peaks": "Peak hours",
    "stats.no_data": "No ticket in this period.",
    "stats.minutes": "{n} min",
    "stats.def.title": "How these figures are computed",
    "stats.def.day": (
        "Day: that of the ticket's issue (site time). A transferred ticket has a passage in "
        "each service it went through: its wait, call and service time count where they "
        "happened."
    ),
    "stats.def.wait": (
        "Wait: from joining the service's queue (issue or transfer) to the call. Passages "
        "never called count in \u201cTickets\u201d, not in the waits."
    ),
    "stats.def.percentiles": (
        "Median and 90th percentile: half, and nine in ten, of the called visitors waited at "
        "most this long (interpolated between the closest ranks)."
    ),
    "stats.def.within15": (
        "Served within 15 min: share of called visitors who waited 15 minutes or less."
    ),
    "stats.def.service": (
        "Service time: mean time from the call to the end (or the transfer), over passages "
        "served or transferred on."
    ),
    "stats.hour": "Hour",
    "stats.out_of_range": "Statistics cover the days {bounds}.",
    "stats.period_text": "From {first} to {last}",
    "stats.transfers": "Transfers",
    "stats.transfers_in": "Received by transfer",
    "stats.passages": "Passages",
    "stats.never_called": "Never called",
    "stats.by_service": "By service over the period",
    "stats.by_hour": "By hour of the day",
    "stats.whole_site": "Whole site",
    "stats.scope": "Service",
    "stats.arrivals": "Arrivals",
    "stats.calls": "Calls",
    "stats.def.site": (
        "Whole site: each ticket counts once (tickets, no-shows, never called); waits and "
        "service times count each passage, as a transferred visitor waits twice."
    ),
    "stats.def.hour": (
        "By hour: arrivals in the service's queue in that hour (for the site: tickets issued), "
        "calls made in that hour, waits of the visitors who arrived in that hour."
    ),
    # after the visit
    "visit.question": "How was your visit?",
    "visit.good": "Good",
    "visit.so_so": "So-so",
    "visit.bad": "Not good",
    "visit.thanks": "Thank you for your answer.",
    "visit.optional": "Optional and anonymous: one answer, nothing else is asked.",
    "visit.anonymous": "Anonymous: your answer is tied only to your ticket.",
    "visit.nothing": "Thank you! No recent visit to rate at this counter.",
    "follow.title": "Your ticket",
    "follow.service": "Service",
    "follow.ahead": "People ahead of you",
    "follow.estimate": "Estimated wait",
    "follow.called": "It's your turn!",
    "follow.called_at": "Please go to {counter}",
    "follow.served": "You have been served. Thank you for your visit.",
    "follow.no_show": "You were called but were not there. Please ask at the reception.",
    "follow.cancelled": "This ticket was cancelled.",
    "follow.waiting": "Waiting",
    "follow.keep_open": "Keep this page open: it updates by itself.",
    "follow.unknown": "This ticket cannot be found or has expired.",
    "follow.live": "Live",
    "follow.reconnecting": "Connection lost — retrying…",
    "follow.priority": "Priority ticket",
    "follow.priority_hint": "You will be called before ordinary tickets.",
    "follow.recalled": "Called again ({n}): {counter} is waiting for you.",
    "follow.transferred": (
        "Your request was passed from “{old}” to “{new}”. You keep your place in the queue."
    ),
    "ind.title": "Our service commitments",
    "ind.summary": "Visitors received: {tickets} · opening days: {days}",
    "ind.no_data": "No visitor that month.",
    "ind.p50": "Median wait (min)",
    "ind.p90": "9 visitors in 10 waited at most (min)",
    "ind.within15": "Called within 15 min",
    "ind.satisfied": "Visit rated good",
    "ind.satisfied_n": "{share} ({n} answers)",
    "ind.appointments": "Appointments",
    "ind.appointments_n": "Appointments kept",
    "ind.appointment_delay": "Median delay of the call (min)",
    "ind.appointment_on_time": "Called on time (5 min at most)",
    "ind.busiest": "Busiest hours",
    "ind.quietest": "Quietest hours",
    "ind.per_day": "{n} arrivals a day on average",
    "ind.how": (
        "Wait: from joining a service's queue (ticket or transfer) to the call. Hours: tickets "
        "issued in that hour, on average per opening day."
    ),
    "ind.json": "These figures as open data (JSON)",
    "ind.bad_month": "Unknown month: give a past or the current month (YYYY-MM).",
    "admin.embed_indicators": "Our service commitments (last month), to embed the same way:",
    "wait.title": "Waiting right now",
    "wait.service": "Service",
    "wait.people": "People waiting",
    "wait.people_n": "{n} waiting",
    "wait.none": "no wait",
    "wait.estimate": "Estimated wait",
    "wait.closed": "closed",
    "wait.updated": "Updated at {time}",
    "wait.peaks": "Usual busy hours",
    "wait.no_peaks": "Not enough data yet.",
    "wait.unavailable": "Information temporarily unavailable.",
    "wait.open_until": "open until {time}",
    "elsewhere.title": "The same service elsewhere",
    "elsewhere.lead": "Other places offer this service too.",
    "elsewhere.wait": "Wait: {wait}",
    "elsewhere.closed": "Closed right now",
    "elsewhere.slot": "First free appointment: {when}",
    "elsewhere.no_slot": "No free appointment for now",
    "elsewhere.book": "Book an appointment: {site}",
    "weekday.0": "Monday",
    "weekday.1": "Tuesday",
    "weekday.2": "Wednesday",
    "weekday.3": "Thursday",
    "weekday.4": "Friday",
    "weekday.5": "Saturday",
    "weekday.6": "Sunday",
    "weekday_short.0": "Mon",
    "weekday_short.1": "Tue",
    "weekday_short.2": "Wed",
    "weekday_short.3": "Thu",
    "weekday_short.4": "Fri",
    "weekday_short.5": "Sat",
    "weekday_short.6": "Sun",
    **booking_texts.EN,
}

CATALOGS: dict[str, dict[str, str]] = {"fr": FR, "en": EN}
LANGUAGES: tuple[str, ...] = tuple(CATALOGS)
LANGUAGE_NAMES = {"fr": "Français", "en": "English"}


def translate(lang: str, key: str, /, **values: Any) -> str:
    """The text of ``key`` in ``lang``, with ``{name}`` placeholders filled in."""
    text = CATALOGS.get(lang, FR).get(key) or FR.get(key) or key
    return text.format(**values) if values else text


def translator(lang: str) -> Callable[..., str]:
    """``_("key", name=value)`` for one language: the templates' ``_``."""

    def _(key: str, /, **values: Any) -> str:
        return translate(lang, key, **values)

    return _


def pick_language(*candidates: str | None) -> str:
    """The first candidate that has a catalog, else French."""
    for c in candidates:
        if c and c[:2].lower() in CATALOGS:
            return c[:2].lower()
    return DEFAULT_LANG

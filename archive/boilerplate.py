"""Short lines that are a site's chrome by what they say, in the languages of the press.

An extractor keeps a ``<p>`` of chrome when its markup looks like the article's: a "Read
also:" label and the teaser headlines under it, a subscription plea, a newsletter sign-up,
"comments are closed", a photo credit, a copyright line, an advertising notice. These are
the same few phrases on every site, so they are matched by what the line says:

* :func:`is_label`: a label that introduces links to other articles ("Lesen Sie auch:",
  "VEA TAMBIÉN: …", "Czytaj też"), the line being the label alone or the label, a colon
  and a teaser;
* :func:`is_notice`: a credit, copyright or advertising notice, at the start of the line;
* :func:`is_plea`: a plea or a comments/sharing widget's line; said anywhere in a short
  line, so it is only used at the edges of the article (see :mod:`archive.article_refine`)
  and never on a line with a figure in it;
* :func:`without_server_errors`: PHP's own error output (``<b>Warning</b>: … in
  <b>/path/file.php</b> on line <b>928</b>``), which a misconfigured server prints into the
  page; read as text, dozens of such lines outweigh a short post and an extractor takes
  them for the article (or for its first paragraphs). Matched in the markup, where only
  the server writes these tags: an article quoting such a warning shows it escaped.

Only short lines are judged (:data:`MAX_LABEL_CHARS`, :data:`MAX_NOTICE_CHARS`,
:data:`MAX_PLEA_CHARS`): an article's own paragraph that happens to start with the words
"Read more" is longer than a label.
"""

from __future__ import annotations

import re

MAX_LABEL_CHARS = 160  # "VEA TAMBIÉN: " and a teaser's headline
MAX_NOTICE_CHARS = 200
MAX_PLEA_CHARS = 220
LABEL_TAIL = 50  # words after a label that still make a label, not a sentence

_RELATED = (
    r"read (?:also|more|next)|related(?: articles?| posts?| stories| content| news)?"
    r"|see also|also read|more on (?:this|that)(?: topic| story)?|you (?:may|might) also like"
    r"|recommended(?: for you)?|more (?:stories|news|articles)"
    r"|lesen sie (?:auch|mehr|hier)|auch interessant|mehr zum thema|mehr dazu|passend dazu"
    r"|weitere (?:informationen|infos|beiträge|artikel|themen|nachrichten|meldungen|aktuelle)"
    r"|ähnliche (?:beiträge|artikel)|das könnte (?:sie|dich) auch interessieren"
    r"|schon gelesen|zum weiterlesen|verwandte (?:artikel|themen)"
    r"|lea también|lee también|vea también|ver también|mire|puedes ver|te puede interesar"
    r"|notas relacionadas|noticias relacionadas|contenido relacionado|más sobre|más noticias"
    r"|leia também|leia mais|veja também|saiba mais"
    r"|czytaj (?:też|także|więcej)|zobacz (?:też|także|również)"
    r"|lire aussi|à lire aussi|a lire aussi|voir aussi|sur le même sujet"
    r"|leggi anche|potrebbe interessarti"
    r"|читайте также|смотрите также|по теме|читать также"
    r"|tags?|temas|themen|topics|schlagw(?:ö|o)rte(?:r)?|kategorien?|categories|category"
    r"|release date|last modified|zuletzt (?:geändert|aktualisiert)")
# the label alone ("Related", "Schon gelesen?"), the label, a colon and the teaser, or the label
# and a few words that make no sentence ("Mehr zum Thema auf example.org", "Weitere Beiträge
# aus der Kolumne:")
_WORDS_AFTER = rf"\b(?:[^.!?:]|\.(?=\S)){{0,{LABEL_TAIL}}}:?$"  # "example.org" is no full stop
_LABEL = re.compile(rf"^\W*(?:{_RELATED})(?:\s*[:?!.…»›>|-]*\s*$|\s*:|{_WORDS_AFTER})", re.I)
_NOTICE = re.compile(
    r"^\W*(?:©|\(c\)\s|copyright\b"
    r"|(?:foto|fotos|photo|photos|bild|bilder|titelbild|beitragsbild|headerbild|image|images"
    r"|crédits? photos?|crédito|credits?|bildnachweis|bildquelle|fotonachweis)\s*[:©]"
    r"|bild anzeigen|\*?anzeige\b|\*?werbung\b|advertisement\b|sponsored\b|publicidad\b"
    r"|this (?:post|article)(?: and [\w ]{1,40}?)? (?:contains?|may contain)"
    r" (?:affiliate|references)"
    r"|dieser (?:beitrag|artikel) enthält (?:werbung|affiliate))", re.I)
_RIGHTS = re.compile(r"all rights reserved|alle rechte vorbehalten|todos los derechos reservados"
                     r"|tous droits réservés|tutti i diritti riservati|materiał chroniony prawem"
                     r"|copyrighted property|все права защищены", re.I)
_PLEA = re.compile(
    r"newsletter|subscribe|subscription|abonnier|abonnement|suscr[ií]b|hazte miembro"
    r"|unterstütze|support (?:us|our)|donate|spende[nt]? |if you (?:enjoyed|liked)"
    r"|gefällt (?:dir|ihnen) (?:unser|dieser|der)|bloggern gefällt|like this:"
    r"|share this|teilen mit|diesen (?:beitrag|artikel) teilen|follow us|folge uns|folgen sie uns"
    r"|s[ií]guenos|download (?:the|our) .*app|comments? (?:are|is) closed"
    r"|kommentare sind geschlossen|keine kommentare|no comments|view comments"
    r"|leave a (?:comment|reply)|kommentar (?:schreiben|verfassen)|be informed of"
    r"|sign up|anmelden und|jetzt anmelden|zum newsletter|in den kommentaren|in the comments"
    r"|kommentare? (?:zu )?schreiben", re.I)
_DIGIT = re.compile(r"\d")
MAX_SERVER_ERROR_CHARS = 2000  # of one PHP message (a real one is one or two hundred)
# PHP's display_errors with html_errors on: "<br />\n<b>Warning</b>:  message in <b>file</b>
# on line <b>N</b><br />"; a message with markup in it (a link to the manual) is left alone
_SERVER_ERROR = re.compile(
    r"<b>\s*(?:PHP )?(?:Warning|Notice|Deprecated|Strict Standards|Fatal error|Parse error"
    r"|Catchable fatal error|Recoverable fatal error)\s*</b>\s*:"
    rf"[^<>]{{0,{MAX_SERVER_ERROR_CHARS}}}?\bin <b>[^<>]{{1,{MAX_SERVER_ERROR_CHARS}}}</b>"
    r" on line <b>\s*\d{1,9}\s*</b>", re.I)


def is_label(line: str) -> bool:
    """A "read also"/"related" label (alone or with the teaser it introduces)."""
    return len(line) <= MAX_LABEL_CHARS and _LABEL.match(line) is not None


def is_notice(line: str) -> bool:
    """A credit, copyright or advertising notice."""
    if len(line) > MAX_NOTICE_CHARS:
        return False
    return _NOTICE.match(line) is not None or _RIGHTS.search(line) is not None


def is_plea(line: str) -> bool:
    """A subscription, newsletter, donation, sharing or comments line without figures."""
    return (len(line) <= MAX_PLEA_CHARS and _DIGIT.search(line) is None
            and _PLEA.search(line) is not None)


def without_server_errors(markup: str) -> str:
    """``markup`` without PHP's error messages (see the module docstring); the same string
    when it has none. Linear: each match starts at a fixed tag and reads a bounded run."""
    if "</b>" not in markup and "</B>" not in markup:
        return markup
    return _SERVER_ERROR.sub("", markup)

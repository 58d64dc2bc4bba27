"""News sentences in the languages whose pages old CMSs still serve in single-byte code pages,
and the charsets they were served in, for the detection tests (tests/test_text_detection.py).

Each text is a short paragraph of ordinary news prose with the language's own letters (and its
own quotation marks where the code page has them). :func:`encoded` writes a page of it in a
charset as a CMS of the time would: typographic marks a code page lacks become ASCII ones.
"""

from __future__ import annotations

import unicodedata

TEXTS = {
    "fr": "Le gouvernement a présenté mercredi un projet de loi sur l’énergie. Selon le "
          "ministère, la consommation d’électricité a baissé de 4 % l’été dernier. « Nous "
          "devons être prêts pour l’hiver », a déclaré la Première ministre à l’Assemblée. "
          "Les députés de l’opposition ont critiqué un texte « trop tardif » et réclamé "
          "des mesures pour les ménages les plus modestes, dont le coût dépasserait 2 € par "
          "foyer et par jour.",
    "de": "Die Bundesregierung hat am Mittwoch ein neues Gesetz zur Energieversorgung "
          "beschlossen. „Wir müssen für den Winter vorbereitet sein“, sagte der "
          "Wirtschaftsminister in Berlin. Die Preise für Strom und Gas sind im vergangenen "
          "Jahr um fast 40 Prozent gestiegen – für viele Haushalte eine große Belastung. Die "
          "Opposition kritisierte, die Entlastung von 200 € komme zu spät.",
    "es": "El Gobierno aprobó el martes una reforma de las pensiones. Según el ministerio, el "
          "déficit se redujo un 3 % el año pasado. «Es una decisión difícil, pero necesaria», "
          "afirmó la ministra en el Congreso. Los sindicatos convocaron una manifestación en "
          "Madrid para el próximo sábado; piden que la subida alcance a los niños huérfanos.",
    "pl": "Rząd przyjął we wtorek projekt ustawy o ochronie środowiska. Według ministerstwa "
          "zużycie węgla w elektrowniach spadło w zeszłym roku o 12 proc. „Musimy być gotowi "
          "na zimę” – powiedział minister klimatu na konferencji w Warszawie. Posłowie "
          "opozycji skrytykowali przepisy, twierdząc, że gminy nie dostaną pieniędzy na "
          "wymianę pieców. Źródła zbliżone do rządu podają, że głosowanie odbędzie się w "
          "przyszłym tygodniu.",
    "cs": "Vláda ve středu schválila návrh zákona o podpoře obnovitelných zdrojů energie. "
          "Podle ministerstva průmyslu klesla loni spotřeba uhlí o čtvrtinu. „Musíme být "
          "připraveni na zimu,“ řekl ministr novinářům v Praze. Opoziční poslanci "
          "kritizovali, že obce nedostanou peníze na výměnu kotlů. Hlasování se uskuteční "
          "příští týden, ale šance na schválení je podle analytiků velká.",
    "sk": "Vláda v stredu schválila návrh zákona o podpore obnoviteľných zdrojov energie. "
          "Podľa ministerstva hospodárstva sa spotreba uhlia vlani znížila o štvrtinu. "
          "„Musíme byť pripravení na zimu,“ povedal minister novinárom v Bratislave. "
          "Opoziční poslanci kritizovali, že obce nedostanú peniaze na výmenu kotlov. "
          "Hlasovanie sa uskutoční budúci týždeň a šanca na schválenie je veľká.",
    "hu": "A kormány szerdán elfogadta az energiaellátásról szóló törvényjavaslatot. A "
          "minisztérium szerint tavaly negyedével csökkent a szénfelhasználás, és a fűtési "
          "költségek is nőttek. „Fel kell készülnünk a télre” – mondta a miniszter "
          "Budapesten az újságíróknak. Az ellenzéki képviselők bírálták, hogy az "
          "önkormányzatok nem kapnak pénzt a kazánok cseréjére. A szavazás jövő héten lesz.",
    "ro": "Guvernul a aprobat miercuri un proiect de lege privind sprijinul pentru energie. "
          "Potrivit ministerului, consumul de cărbune a scăzut anul trecut cu un sfert. "
          "„Trebuie să fim pregătiţi pentru iarnă”, a declarat ministrul la Bucureşti. "
          "Parlamentarii din opoziţie au criticat faptul că primăriile nu vor primi bani "
          "pentru înlocuirea centralelor. Votul va avea loc săptămâna viitoare.",
    "hr": "Vlada je u srijedu usvojila prijedlog zakona o potpori za energiju. Prema "
          "podacima ministarstva, potrošnja ugljena prošle je godine pala za četvrtinu. "
          "„Moramo biti spremni za zimu”, rekao je ministar novinarima u Zagrebu. Oporbeni "
          "zastupnici kritizirali su što općine neće dobiti novac za zamjenu kotlova, a "
          "gradonačelnik Đakova najavio je žalbu. Glasovanje će se održati idući tjedan.",
    "tr": "Hükümet çarşamba günü enerji desteğine ilişkin yasa tasarısını onayladı. "
          "Bakanlığa göre geçen yıl kömür tüketimi dörtte bir oranında düştü. “Kışa "
          "hazırlıklı olmalıyız” dedi bakan İstanbul’da gazetecilere. Muhalefet "
          "milletvekilleri, belediyelerin kazan değişimi için para alamayacağını eleştirdi. "
          "Oylama gelecek hafta yapılacak; analistler tasarının kabul edileceğini düşünüyor.",
    "lt": "Vyriausybė trečiadienį pritarė įstatymo projektui dėl paramos energijai. Pasak "
          "ministerijos, pernai anglių suvartojimas sumažėjo ketvirtadaliu. „Turime būti "
          "pasirengę žiemai“, – žurnalistams Vilniuje sakė ministras. Opozicijos nariai "
          "kritikavo, kad savivaldybės negaus pinigų katilams pakeisti. Balsavimas vyks "
          "kitą savaitę, o analitikai mano, kad įstatymas bus priimtas.",
    "lv": "Valdība trešdien apstiprināja likumprojektu par atbalstu enerģijai. Saskaņā ar "
          "ministrijas datiem ogļu patēriņš pagājušajā gadā samazinājās par ceturtdaļu. "
          "„Mums jābūt gataviem ziemai,” žurnālistiem Rīgā sacīja ministrs. Opozīcijas "
          "deputāti kritizēja, ka pašvaldības nesaņems naudu apkures katlu nomaiņai. "
          "Balsojums notiks nākamnedēļ, un analītiķi uzskata, ka likums tiks pieņemts.",
    "el": "Η κυβέρνηση ενέκρινε την Τετάρτη το νομοσχέδιο για την ενίσχυση της ενέργειας. "
          "Σύμφωνα με το υπουργείο, η κατανάλωση άνθρακα μειώθηκε πέρυσι κατά ένα τέταρτο. "
          "«Πρέπει να είμαστε έτοιμοι για τον χειμώνα», δήλωσε ο υπουργός στην Αθήνα. "
          "Άλλοι βουλευτές της αντιπολίτευσης επέκριναν ότι οι δήμοι δεν θα λάβουν χρήματα. "
          "Η ψηφοφορία θα γίνει την επόμενη εβδομάδα.",
    "he": "הממשלה אישרה ביום רביעי את הצעת החוק לתמיכה באנרגיה. לפי משרד האנרגיה, צריכת "
          "הפחם ירדה בשנה שעברה ברבע. \"עלינו להיות מוכנים לחורף\", אמר השר לעיתונאים "
          "בירושלים. חברי האופוזיציה מתחו ביקורת על כך שהרשויות המקומיות לא יקבלו כסף "
          "להחלפת דוודים. ההצבעה תתקיים בשבוע הבא.",
    "ar": "وافقت الحكومة يوم الأربعاء على مشروع قانون لدعم الطاقة. وبحسب الوزارة، انخفض "
          "استهلاك الفحم العام الماضي بمقدار الربع. وقال الوزير للصحفيين في القاهرة: \"يجب "
          "أن نكون مستعدين لفصل الشتاء\". وانتقد نواب المعارضة عدم حصول البلديات على أموال "
          "لاستبدال الغلايات. وسيجري التصويت الأسبوع المقبل.",
    "vi": "Chính phủ đã thông qua dự thảo luật hỗ trợ năng lượng vào thứ Tư. Theo Bộ Công "
          "Thương, lượng than tiêu thụ năm ngoái giảm một phần tư. \"Chúng ta phải chuẩn bị "
          "cho mùa đông\", Bộ trưởng nói với các nhà báo tại Hà Nội. Các đại biểu phê phán "
          "việc chính quyền địa phương không nhận được tiền để thay nồi hơi. Cuộc biểu quyết "
          "sẽ diễn ra vào tuần tới.",
    "ru": "Правительство в среду одобрило законопроект о поддержке энергетики. По данным "
          "министерства, потребление угля в прошлом году сократилось на четверть. «Мы "
          "должны быть готовы к зиме», — заявил министр журналистам в Москве. Депутаты от "
          "оппозиции раскритиковали то, что муниципалитеты не получат денег на замену "
          "котлов. Голосование пройдёт на следующей неделе.",
    "uk": "Уряд у середу схвалив законопроєкт про підтримку енергетики. За даними "
          "міністерства, споживання вугілля торік скоротилося на чверть. «Ми маємо бути "
          "готовими до зими», — заявив міністр журналістам у Києві. Депутати від опозиції "
          "розкритикували те, що громади не отримають грошей на заміну котлів. Ґрунтовний "
          "аналіз опублікують у п’ятницю, а голосування відбудеться наступного тижня.",
    "bg": "Правителството одобри в сряда законопроекта за подкрепа на енергетиката. Според "
          "министерството потреблението на въглища през миналата година е намаляло с една "
          "четвърт. „Трябва да сме готови за зимата“, заяви министърът пред журналисти в "
          "София. Депутатите от опозицията разкритикуваха, че общините няма да получат пари "
          "за подмяна на котлите. Гласуването ще се проведе следващата седмица.",
    "it": "Il governo ha approvato mercoledì un disegno di legge sull’energia. Secondo il "
          "ministero, il consumo di carbone è calato di un quarto l’anno scorso. «Non c’è più "
          "tempo da perdere», ha detto il ministro a Roma. L’opposizione ha criticato la "
          "città di Milano perché non riceverà fondi; il voto è previsto la settimana prossima.",
    "pt": "O governo aprovou na quarta-feira um projeto de lei sobre energia. Segundo o "
          "ministério, o consumo de carvão caiu um quarto no ano passado. «Não há tempo a "
          "perder», disse o ministro em Lisboa. A oposição criticou a decisão, e a votação "
          "será na próxima semana, após a reunião das comissões.",
    "sv": "Regeringen föreslår i dag en ny lag om stöd till energi. Enligt departementet "
          "minskade förbrukningen av kol med en fjärdedel förra året. ”Vi måste vara "
          "förberedda på vintern”, säger ministern i Göteborg. Oppositionen kritiserar att "
          "kommunerna inte får några pengar. Omröstningen äger rum nästa vecka.",
    "et": "Valitsus kiitis kolmapäeval heaks energiatoetuse eelnõu. Ministeeriumi andmetel "
          "vähenes söe tarbimine möödunud aastal veerandi võrra. „Peame olema talveks "
          "valmis,“ ütles minister ajakirjanikele Tallinnas. Opositsioon kritiseeris, et "
          "omavalitsused ei saa raha katelde vahetamiseks. Hääletus toimub järgmisel nädalal, "
          "šanss on suur ja žürii on nõus.",
    "sl": "Vlada je v sredo sprejela predlog zakona o podpori za energijo. Po podatkih "
          "ministrstva se je poraba premoga lani zmanjšala za četrtino. „Na zimo moramo biti "
          "pripravljeni,“ je novinarjem v Ljubljani dejal minister. Opozicija je kritizirala, "
          "da občine ne bodo dobile denarja za zamenjavo kotlov. Župan je napovedal pritožbo.",
    "sr": "Влада је у среду усвојила предлог закона о подршци енергетици. Према подацима "
          "министарства, потрошња угља је прошле године пала за четвртину. „Морамо бити "
          "спремни за зиму“, рекао је министар новинарима у Београду. Опозиција је "
          "критиковала што општине неће добити новац, а Ђорђе Петровић најавио је жалбу.",
    "mk": "Владата во среда го усвои предлогот за закон за поддршка на енергијата. Според "
          "министерството, потрошувачката на јаглен лани се намали за четвртина. „Мора да "
          "бидеме подготвени за зимата“, изјави министерот во Скопје. Опозицијата критикуваше "
          "што општините нема да добијат пари. Ќе се гласа следната недела.",
    "th": "รัฐบาลอนุมัติร่างกฎหมายสนับสนุนพลังงานเมื่อวันพุธ ตามข้อมูลของกระทรวง "
          "การใช้ถ่านหินลดลงหนึ่งในสี่เมื่อปีที่แล้ว รัฐมนตรีกล่าวกับผู้สื่อข่าวในกรุงเทพฯ "
          "ว่าเราต้องเตรียมพร้อมสำหรับฤดูหนาว. ฝ่ายค้านวิจารณ์ว่าเทศบาลจะไม่ได้รับเงิน.",
    "en": "Copyright © 2009 Smith’s Café — all rights reserved. The council met on Tuesday "
          "to discuss the budget; the mayor said “we cannot wait” and the cost, £5 million, "
          "would be shared. Temperatures reached 20°C. A naïve résumé was not enough.",
}

# (language, charset) as served by the sites that still send them.
CHARSETS = [
    ("fr", "cp1252"), ("de", "cp1252"), ("es", "cp1252"), ("fr", "iso8859_15"),
    ("pl", "cp1250"), ("pl", "iso8859_2"), ("cs", "cp1250"), ("cs", "iso8859_2"),
    ("sk", "cp1250"), ("sk", "iso8859_2"), ("hu", "cp1250"), ("hu", "iso8859_2"),
    ("ro", "cp1250"), ("ro", "iso8859_2"), ("hr", "cp1250"), ("hr", "iso8859_2"),
    ("tr", "cp1254"), ("tr", "iso8859_9"), ("lt", "cp1257"), ("lt", "iso8859_13"),
    ("lv", "cp1257"), ("lv", "iso8859_13"), ("el", "cp1253"), ("el", "iso8859_7"),
    ("he", "cp1255"), ("he", "iso8859_8"), ("ar", "cp1256"), ("ar", "iso8859_6"),
    ("vi", "cp1258"), ("ru", "cp1251"), ("ru", "koi8_r"), ("ru", "iso8859_5"),
    ("ru", "cp866"), ("uk", "cp1251"), ("uk", "koi8_u"), ("bg", "cp1251"),
    ("it", "cp1252"), ("pt", "cp1252"), ("sv", "cp1252"), ("et", "cp1257"),
    ("sl", "cp1250"), ("sl", "iso8859_2"), ("sr", "cp1251"), ("mk", "cp1251"),
    ("th", "cp874"), ("en", "cp1252"),
]

# Typographic marks a code page may lack, as CMSs wrote them then.
_PLAIN = str.maketrans({"„": '"', "“": '"', "”": '"', "«": '"', "»": '"', "‘": "'",
                        "’": "'", "–": "-", "—": "-", "…": "...", "€": "EUR"})


def text_in(lang: str, codec: str) -> str:
    """The language's text as it can be written in ``codec`` (NFC)."""
    text = TEXTS[lang]
    return "".join(ch if _encodes(ch, codec) else ch.translate(_PLAIN) for ch in text)


def _encodes(ch: str, codec: str) -> bool:
    try:
        _encode(ch, codec)
    except UnicodeEncodeError:
        return False
    return True


def _encode(text: str, codec: str) -> bytes:
    if codec != "cp1258":
        return text.encode(codec)
    # Vietnamese in windows-1258: a base letter (â, ơ, ư ... are in the code page) then a
    # combining tone mark, as Windows wrote it.
    out = b""
    for ch in text:
        try:
            out += ch.encode(codec)
            continue
        except UnicodeEncodeError:
            pass
        base, *marks = unicodedata.normalize("NFD", ch)
        for mark in list(marks):
            try:
                joined = unicodedata.normalize("NFC", base + mark)
                joined.encode(codec)
            except UnicodeEncodeError:
                continue
            base = joined
            marks.remove(mark)
        out += base.encode(codec) + "".join(marks).encode(codec)
    return out


LENGTHS = {"sentence": 0, "paragraph": 1, "page": 12}


def sample(lang: str, codec: str, length: str) -> tuple[str, bytes]:
    """(text, page bytes): the text alone as a page's only non-ASCII part (its first
    sentence, the paragraph) or a page of it (the paragraph twelve times among English-free
    markup), unlabelled."""
    text = text_in(lang, codec)
    if length == "sentence":
        text = text.split(". ")[0] + "."
    paragraphs = "".join(f"<p>{text}</p>\n" for _ in range(max(LENGTHS[length], 1)))
    page = ("<!DOCTYPE html>\n<html><head><title>News</title></head><body><div id=\"content\">"
            f"<h1>News</h1>\n{paragraphs}</div></body></html>")
    return text, _encode(page, codec)

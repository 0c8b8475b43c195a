"""The words and shapes mail clients use when they quote, forward and sign.

Pure data. `mailgate.parse.newtext` builds its patterns from these tables, so a
new client style or a new language is a change here and nowhere else. Every
entry is matched case-insensitively; phrases are plain text, not regexes,
unless the name says `_PATTERNS`.
"""

from __future__ import annotations

# Verbs of an attribution line ("On <date>, <who> wrote:"). An attribution is a
# line (or a line wrapped over two or three) that ends with ":" and contains
# one of these, or a date, a time and an address (see newtext.py).
ATTRIBUTION_VERBS: tuple[str, ...] = (
    # English
    "wrote",
    "writes",
    "has written",
    # Russian, Ukrainian, Belarusian
    "написал",
    "написала",
    "написал(а)",
    "написал(-а)",
    "написали",
    "писали",
    "пишет",
    "писал",
    "писала",
    "писал(а)",
    "написав",
    "пише",
    # German, French, Spanish, Italian, Portuguese, Dutch
    "schrieb",
    "a écrit",
    "escribió",
    "ha scritto",
    "escreveu",
    "schreef",
    "heeft geschreven",
    "het volgende geschreven",  # Dutch Apple Mail: "Op ... heeft <who> het volgende geschreven:"
    # Polish, Czech, Slovak, Scandinavian, Finnish, Turkish, Hungarian
    "napisał",
    "napisała",
    "napisał(a)",
    "napsal",
    "napsala",
    "napsal(a)",
    "skrev",
    "kirjoitti",
    "yazdı",
    "írta",
    "a scris",
    "pisze",
    "έγραψε",
    "כתב",
    "كتب",
    # Chinese, Japanese
    "写道",
    "寫道",
    "のメッセージ",
    "님이 작성",
)

# Words an attribution line may start with when a client wraps it over two or
# three lines ("On Wed, Nov 25, 2026 at 10:00 AM Support <support@" / "example.org> wrote:").
ATTRIBUTION_LEADS: tuple[str, ...] = (
    "on",
    "am",
    "le",
    "el",
    "il",
    "op",
    "em",
    "dne",
    "w dniu",
    "den",
    "в",
)

# Month names and their common abbreviations, as a prefix of the word
# ("нояб." and "ноября" both start with "ноя").
MONTH_PREFIXES: tuple[str, ...] = (
    # English
    "jan",
    "feb",
    "mar",
    "apr",
    "may",
    "jun",
    "jul",
    "aug",
    "sep",
    "oct",
    "nov",
    "dec",
    # Russian
    "янв",
    "фев",
    "мар",
    "апр",
    "мая",
    "май",
    "июн",
    "июл",
    "авг",
    "сен",
    "окт",
    "ноя",
    "дек",
    # German, French, Spanish, Italian, Dutch, Portuguese, Polish
    "mär",
    "mrz",
    "mai",
    "okt",
    "dez",
    "janv",
    "févr",
    "avr",
    "juil",
    "août",
    "déc",
    "ene",
    "abr",
    "ago",
    "dic",
    "gen",
    "mag",
    "giu",
    "lug",
    "set",
    "ott",
    "mrt",
    "mei",
    "fev",
    "out",
    "sty",
    "lut",
    "kwi",
    "maj",
    "cze",
    "lip",
    "sie",
    "wrz",
    "paź",
    "lis",
    "gru",
)

# Field names of the header block Outlook, Exchange and most forwards put in
# front of the quoted message ("From: ...", "Sent: ...", "To: ...", "Subject: ...").
# The first group names the sender; a block needs one of these and one more
# field from any group.
HEADER_FROM_FIELDS: tuple[str, ...] = (
    "from",
    "от",
    "от кого",
    "відправник",
    "від",
    "von",
    "de",
    "da",
    "van",
    "od",
    "frá",
    "från",
    "fra",
    "lähettäjä",
    "kimden",
    "feladó",
    "de la",
    "差出人",
    "发件人",
    "寄件者",
    "寄件人",
    "보낸 사람",
)
HEADER_OTHER_FIELDS: tuple[str, ...] = (
    # English
    "sent",
    "date",
    "to",
    "cc",
    "bcc",
    "subject",
    "reply-to",
    # Russian, Ukrainian
    "отправлено",
    "дата",
    "кому",
    "копия",
    "тема",
    "надіслано",
    # German
    "gesendet",
    "datum",
    "an",
    "betreff",
    "kopie",
    # French
    "envoyé",
    "envoyé le",
    "à",
    "objet",
    "sujet",
    "message du",  # French webmail: "Message du : 25/11/2026 10:00"
    # Spanish, Portuguese
    "enviado",
    "enviado el",
    "para",
    "asunto",
    "fecha",
    "assunto",
    "data",
    # Italian
    "inviato",
    "inviato il",
    "a",
    "oggetto",
    # Dutch
    "verzonden",
    "aan",
    "onderwerp",
    # Polish, Czech
    "wysłano",
    "do",
    "dw",
    "temat",
    "odesláno",
    "komu",
    "předmět",
    # Scandinavian, Finnish, Turkish
    "skickat",
    "till",
    "ämne",
    "sendt",
    "til",
    "emne",
    "dato",
    "efni",
    "dagsetning",
    "lähetetty",
    "vastaanottaja",
    "aihe",
    "gönderildi",
    "kime",
    "konu",
    # Polish and Czech variants, Hungarian, Romanian
    "wysłane",
    "elküldve",
    "címzett",
    "tárgy",
    "trimis",
    "către",
    "subiect",
    # Japanese, Chinese, Korean
    "送信日時",
    "宛先",
    "件名",
    "发送时间",
    "发送日期",
    "日期",
    "收件人",
    "抄送",
    "主题",
    "傳送時間",
    "收件者",
    "主旨",
    "보낸 날짜",
    "받는 사람",
    "제목",
)

# Whole-line separators in front of an original or forwarded message, written
# between runs of dashes ("-----Original Message-----",
# "---------- Forwarded message ---------", "-------- Пересылаемое сообщение --------").
SEPARATOR_PHRASES: tuple[str, ...] = (
    "original message",
    "forwarded message",
    "forwarded e-mail",
    "message forwarded",
    "исходное сообщение",
    "пересылаемое сообщение",
    "перенаправленное сообщение",
    "пересланное сообщение",
    "переадресованное сообщение",
    "оригинальное сообщение",
    "ursprüngliche nachricht",
    "ursprüngliche mail",  # Zimbra
    "weitergeleitete nachricht",
    "originalnachricht",
    "message d'origine",
    "message original",
    "mail original",  # Zimbra: "----- Mail original -----"
    "mail d'origine",
    "message transféré",
    "mensaje original",
    "mensaje reenviado",
    "messaggio originale",
    "messaggio inoltrato",
    "mensagem original",
    "mensagem encaminhada",
    "oorspronkelijk bericht",
    "doorgestuurd bericht",
    "wiadomość oryginalna",
    "oryginalna wiadomość",
    "przekazana wiadomość",
    "wiadomość przekazana",
    "původní zpráva",
    "přeposlaná zpráva",
    "ursprungligt meddelande",
    "vidarebefordrat meddelande",
    "oprindelig meddelelse",
    "oprindelig besked",
    "videresendt meddelelse",
    "videresendt besked",
    "opprinnelig melding",
    "videresendt melding",
    "alkuperäinen viesti",
    "välitetty viesti",
    "元のメッセージ",
    "転送メッセージ",
    "原始邮件",
    "原始郵件",
    "转发邮件",
)

# Whole-line forward introductions that end with a colon ("Begin forwarded message:").
FORWARD_INTRO_PHRASES: tuple[str, ...] = (
    "begin forwarded message",
    "forwarded message",
    "начало переадресованного сообщения",
    "начало пересылаемого сообщения",
    "пересылаемое сообщение",
    "anfang der weitergeleiteten nachricht",
    "début du message réexpédié",
    "début du message transféré",
    "inicio del mensaje reenviado",
    "inizio messaggio inoltrato",
    "begin doorgestuurd bericht",
    "początek przekazywanej wiadomości",
)

# Lines that mobile apps and webmail append under what the person typed
# ("Sent from my iPhone"). A line that starts with one of these and is short
# ends the new text.
DEVICE_SIGNATURE_PREFIXES: tuple[str, ...] = (
    "sent from my ",
    "sent from my blackberry 10 smartphone",  # "… on the Rogers network."
    "sent from outlook",
    "sent from mail for windows",
    "sent from yahoo mail",
    "sent from yandex",
    "sent from samsung",
    "sent from proton mail",
    "sent from protonmail",
    "sent from the all new aol app",
    "sent from aol mobile mail",
    "sent from gmail mobile",
    "sent with proton mail",
    "sent with protonmail",
    "sent with spark",
    "sent from bluemail",
    "sent from mobile",
    "sent from my mobile",
    "sent via the samsung",
    "sent using ",
    "get outlook for ",
    "get outlook mobile",
    "отправлено с iphone",
    "отправлено с ipad",
    "отправлено с моего ",
    "отправлено с мобильного",
    "отправлено из мобильной ",
    "отправлено из яндекс",
    "отправлено из почты ",
    "отправлено из приложения ",
    "отправлено из mail.ru",
    "отправлено из outlook",
    "отправлено с помощью ",
    "получить outlook для ",
    "скачайте outlook для ",
    "télécharger outlook pour ",
    "obtenir outlook pour ",
    "outlook für ios herunterladen",
    "outlook für android herunterladen",
    "obtener outlook para ",
    "descargar outlook para ",
    "scarica outlook per ",
    "outlook voor ios downloaden",
    "outlook voor android downloaden",
    "pobierz outlook dla ",
    "baixe o outlook para ",
    "obter o outlook para ",
    "hämta outlook för ",
    "von meinem iphone gesendet",
    "von meinem ipad gesendet",
    "von meinem ",
    "gesendet von meinem ",
    "gesendet von outlook",
    "envoyé de mon ",
    "envoyé depuis mon ",
    "envoyé à partir de outlook",
    "enviado desde mi ",
    "enviado desde outlook",
    "enviado do meu ",
    "inviato da iphone",
    "inviato dal mio ",
    "verzonden vanaf mijn ",
    "verzonden met ",
    "verstuurd vanaf mijn ",
    "wysłane z iphone",
    "iphone'umdan gönderildi",
    "iphone’umdan gönderildi",
    "ipad'imden gönderildi",
    "ipad’imden gönderildi",
    "wysłane z mojego ",
    "skickat från min ",
    "sendt fra min ",
    "lähetetty iphonesta",
    "надіслано з ",
    "iphoneから送信",
    "发自我的",
    "從我的 iphone 傳送",
    # Less common mobile apps; the length and prose checks in newtext.py keep
    # "Sent from the office, the line still fails" as text.
    "sent from ",
    "sent via ",
    "sent with ",
    "get bluemail for ",
    "gesendet mit ",
    "gesendet von ",
    "envoyé avec ",
    "envoyé via ",
    "enviado con ",
    "enviado via ",
    "inviato con ",
    "sendt fra ",
    "sendt med ",
    "skickat från ",
    "skickat med ",
    "wysłane z ",
    "wysłano z ",
    "odesláno z ",
    "verstuurd met ",
)

# Hosts of the links device signatures end with ("Get Outlook for iOS<https://aka.ms/o0ukef>").
DEVICE_SIGNATURE_LINK_HOSTS: tuple[str, ...] = ("aka.ms",)

# Longest device-signature line that still counts; a longer line is prose.
DEVICE_SIGNATURE_MAX_LENGTH = 100
# Most words after the app's prefix ("Sent from my" + "Samsung Galaxy S24 Ultra").
DEVICE_SIGNATURE_MAX_WORDS = 6

# Sign-offs that end what a person wrote ("Best regards," then the name, a
# title, a phone). Alone on a line, optionally with ",", "." or "!", or with the
# name on the same line ("Mvh Ola Nordmann"). What follows must look like a
# signature block for the sign-off to count (see newtext.py).
SIGN_OFFS: tuple[str, ...] = (
    # English
    "regards",
    "best regards",
    "kind regards",
    "kindest regards",
    "warm regards",
    "warmest regards",
    "with regards",
    "with best regards",
    "with kind regards",
    "best wishes",
    "thanks and regards",
    "thanks & regards",
    "many thanks",
    "sincerely",
    "yours sincerely",
    "sincerely yours",
    "yours faithfully",
    "yours truly",
    "all the best",
    "rgds",
    "br",
    "kr",
    # Russian, Ukrainian
    "с уважением",
    "с наилучшими пожеланиями",
    "всего доброго",
    "всего хорошего",
    "з повагою",
    # German
    "mit freundlichen grüßen",
    "mit freundlichen grüssen",
    "freundliche grüße",
    "freundliche grüsse",
    "viele grüße",
    "viele grüsse",
    "beste grüße",
    "liebe grüße",
    "mfg",
    # French, Spanish, Italian, Portuguese
    "cordialement",
    "bien cordialement",
    "bien à vous",
    "meilleures salutations",
    "salutations",
    "atentamente",
    "saludos",
    "un saludo",
    "saludos cordiales",
    "cordiali saluti",
    "distinti saluti",
    "atenciosamente",
    "cumprimentos",
    # Dutch
    "met vriendelijke groet",
    "met vriendelijke groeten",
    "vriendelijke groet",
    "vriendelijke groeten",
    "groeten",
    "mvg",
    # Danish
    "med venlig hilsen",
    "venlig hilsen",
    "venlige hilsner",
    "de bedste hilsner",
    "bedste hilsner",
    "kærlig hilsen",
    # Norwegian
    "med vennlig hilsen",
    "vennlig hilsen",
    "vennlige hilsener",
    "beste hilsen",
    "hilsen",
    # Swedish
    "med vänlig hälsning",
    "med vänliga hälsningar",
    "vänlig hälsning",
    "vänliga hälsningar",
    "bästa hälsningar",
    "hälsningar",
    # Scandinavian short forms
    "mvh",
    "m.v.h",
    "vh",
    # Finnish, Polish, Czech
    "ystävällisin terveisin",
    "terveisin",
    "pozdrawiam",
    "z poważaniem",
    "serdecznie pozdrawiam",
    "s pozdravem",
    # Turkish
    "saygılarımla",
    "saygılar",
    "iyi çalışmalar",
)
# Thanks that end a message only when a name follows ("Thanks,\nIvan"); alone,
# "Thanks!" is what the person wrote.
THANKS_SIGN_OFFS: tuple[str, ...] = (
    "thanks",
    "thank you",
    "thx",
    "cheers",
    "best",
    "спасибо",
    "благодарю",
    "danke",
    "merci",
    "gracias",
    "grazie",
    "obrigado",
    "bedankt",
    "tak",
    "takk",
    "tack",
    "kiitos",
    "dziękuję",
    "děkuji",
    "teşekkürler",
)

# Corporate confidentiality footers: a paragraph that starts with one of these,
# among the last lines the sender's client added, is part of the signature.
DISCLAIMER_OPENINGS: tuple[str, ...] = (
    "this e-mail and any attachments",
    "this email and any attachments",
    "this e-mail and any files",
    "this email and any files",
    "this message and any attachments",
    "this e-mail is confidential",
    "this email is confidential",
    "this message is confidential",
    "the information contained in this e-mail",
    "the information contained in this email",
    "the information contained in this message",
    "confidentiality notice",
    "это сообщение и любые вложения",
    "данное сообщение и любые вложения",
    "настоящее сообщение и любые вложения",
    "это электронное сообщение и любые",
    "diese e-mail enthält vertrauliche",
    "diese nachricht enthält vertrauliche",
    "ce message et toutes les pièces jointes",
    "ce message et ses pièces jointes",
    "este mensaje y sus anexos",
    "este correo electrónico y sus anexos",
    "questo messaggio e i suoi allegati",
    "esta mensagem e seus anexos",
)

# Mailing-list footers: a rule line, then a line with one of these (Mailman's
# "riak-users mailing list" and its listinfo URL).
LIST_FOOTER_MARKERS: tuple[str, ...] = (
    "mailing list",
    "/listinfo",
    "list-unsubscribe",
    "lists.",
)

# HTML: class or id tokens of elements that hold a reply's quoted message.
# When such an element has a <blockquote> child, only the blockquote is quoted
# (text beside it is an attribution or an inline answer); otherwise the element
# and everything after it are quoted.
HTML_QUOTE_TOKENS: tuple[str, ...] = (
    "gmail_quote",
    "protonmail_quote",
    "yahoo_quoted",
    "zmail_extra",
    "mail-quote",
    "quote-collapse",
)
# HTML: class or id tokens of elements that start the quoted or forwarded part:
# the element and everything after it in the document are quoted.
HTML_CUT_TOKENS: tuple[str, ...] = (
    "divrplyfwdmsg",
    "appendonsend",
    "stopspelling",
    "outlookmessageheader",
    "olk_src_body_section",
    "mail-editor-reference-message-container",
    "moz-forward-container",
    "isforwardcontent",
    "isreplycontent",
    "gmail_forward",
)
# HTML: class tokens of attribution elements ("On ... wrote:").
HTML_ATTRIBUTION_TOKENS: tuple[str, ...] = (
    "gmail_attr",
    "moz-cite-prefix",
    "yahoo_attribution",
    "protonmail_attribution",
)
# HTML: class tokens of signature elements.
HTML_SIGNATURE_TOKENS: tuple[str, ...] = (
    "gmail_signature",
    "moz-signature",
)
# HTML: an inline style with a top border is Outlook's header block
# (`border:none;border-top:solid #E1E1E1 1.0pt`).
HTML_CUT_STYLE_PATTERNS: tuple[str, ...] = (
    r"border-top\s*:\s*solid\s+#(?:e1e1e1|b5c4df)",
    r"border\s*:\s*none\s*;\s*border-top\s*:\s*solid",
    r"border-top-style\s*:\s*solid",  # Windows Mail
)

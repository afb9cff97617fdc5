"""Multilingual hijacking/extraction vocabulary (stems) and the regexes built from it.

Stems are matched as prefixes, and the same stems gate the rules (one Aho-Corasick pass)."""

from __future__ import annotations

import re
from typing import Final

__all__ = ["ML_EXTRACT", "ML_EXTRACT_REV", "ML_NOUNS", "ML_OVERRIDE", "ML_OVERRIDE_REV", "ML_REVEAL",
           "ML_SOV_REVEAL", "ML_SOV_VERBS", "ML_TARGETS", "ML_VERBS"]  # fmt: skip

# fmt: off
ML_VERBS: Final = (
    "ignora", "ignorez", "no sigas", "no obedezcas", "ne suis pas", "ne suis plus", "ne respecte", "non seguire",
    "não siga", "nie przestrzegaj", "не следуй", "не подчиняйся", "не соблюдай", "ignore les", "ignore toutes", "ignore tes", "ignore vos", "ignore ta", "ignore ton", "ignore as", "ignore todas",
    "ignore os", "olvida", "olvide", "omite", "descarta", "haz caso omiso", "oublie", "ne tiens pas compte",
    "fais abstraction", "ignorier", "vergiss", "vergessen sie", "missachte", "übergehe", "dimentica", "trascura",
    "non considerare", "esqueça", "esqueca", "desconsider", "zignoruj", "ignoruj", "zapomnij", "pomiń", "pomin",
    "negeer", "vergeet", "ignoră", "ignorați", "ignorati", "uită", "uitați", "uitati", "игнорируй",
    "проигнорируй", "забудь", "не обращай внимания", "ігноруй", "yok say", "görmezden gel", "unut", "bỏ qua",
    "phớt lờ", "quên", "abaikan", "lupakan", "ignorera", "glöm", "ignorer", "glem", "unohda", "ohita",
    "zapomeň", "hagyd figyelmen", "felejtsd el", "αγνόησε", "ξέχασε", "تجاهل", "انس", "התעלם", "שכח", "अनदेखा",
    "भूल जाओ", "नज़रअंदाज़", "忽略", "无视", "忽视", "忘记", "忘掉", "不要理会", "無視", "忘れて", "무시", "잊어",
)
ML_NOUNS: Final = (
    "ti è stato detto", "ti hanno detto", "te dijeron", "te han dicho", "on t'a dit", "dir gesagt", "ti hanno detto", "te disseram", "tâche", "tarea",
    "aufgabe", "compito", "tarefa", "instrucci", "reglas", "indicaciones", "directrices", "órdenes", "instructions", "consignes", "règles",
    "regles", "directives", "anweisung", "regeln", "vorgaben", "richtlinien", "befehle", "istruzioni", "regole",
    "direttive", "instruç", "instrucoes", "regras", "diretrizes", "polece", "instrukcj", "zasad", "reguł",
    "instructies", "regels", "instrucțiun", "instrucţiun", "instructiun", "reguli", "инструкци", "правил",
    "указани", "інструкці", "talimat", "kural", "yönerge", "hướng dẫn", "chỉ dẫn", "quy tắc", "lệnh",
    "instruksi", "perintah", "aturan", "instruktion", "regler", "instruks", "ohje", "sääntö", "pokyn", "instrukc",
    "pravidl", "utasítás", "szabály", "οδηγί", "κανόν", "التعليمات", "تعليمات", "القواعد", "الأوامر", "הוראות",
    "כללים", "निर्देश", "नियम", "指令", "指示", "规则", "提示", "设定", "ルール", "命令", "지시", "규칙", "명령",
)
ML_REVEAL: Final = (
    "muestra", "muéstra", "enseña", "dame", "revela", "dimmi", "dime", "imprime", "enséñame", "montre", "révèle", "revele", "affiche", "donne-moi",
    "zeige", "verrate", "gib", "mostra", "rivela", "stampa", "mostre", "exiba", "imprima", "pokaż", "pokaz",
    "ujawnij", "wypisz", "podaj", "toon", "laat zien", "afișa", "afisea", "arată", "arata", "dezvăluie",
    "покажи", "раскрой", "выведи", "напиши", "виведи", "göster", "yazdır", "cho tôi xem", "hiển thị",
    "tiết lộ", "in ra", "tunjukkan", "tampilkan", "berikan", "visa ", "avslöja", "vis ", "näytä", "paljasta",
    "ukaž", "zobraz", "prozraď", "mutasd", "írd ki", "δείξε", "αποκάλυψε", "اعرض", "أظهر", "اكشف", "הצג",
    "חשוף", "दिखा", "बताओ", "显示", "告诉我", "输出", "泄露", "打印", "给我看", "見せて", "表示", "教えて", "出力",
    "보여", "알려", "출력",
)
ML_TARGETS: Final = (
    "prompt", "sistema", "système", "systeme", "konfiguracj", "configuraci", "configuration", "konfiguration",
    "configuraç", "ukryt", "ocult", "caché", "versteckt", "nascost", "системн", "скрыт", "hệ thống", "lời nhắc",
    "sistem", "istem", "instrucțiun", "talimat", "instruksi", "systém", "rendszer", "järjestelmä",
    "συστήματος", "النظام", "המערכת", "सिस्टम", "प्रॉम्प्ट", "システム", "系统", "提示词", "隐藏", "시스템", "프롬프트",
)
ML_SOV_VERBS: Final = (
    "yok say", "görmezden gel", "unut", "अनदेखा", "भूल", "無視", "忘れ", "무시", "잊", "忽略", "无视",
)
ML_SOV_REVEAL: Final = (
    "göster", "yazdır", "見せ", "表示", "教え", "出力", "보여", "알려", "출력", "दिखा", "बता", "显示", "告诉", "输出",
    "打印",
)
# fmt: on


def _alt(words: tuple[str, ...]) -> str:
    return "|".join(re.escape(w) for w in sorted(words, key=len, reverse=True))


ML_OVERRIDE: Final = rf"(?:{_alt(ML_VERBS)})\w*[^.\n。]{{0,60}}?(?:{_alt(ML_NOUNS)})"
# the user's own things ("de mon routeur", "我的") and how-to questions ("如何") are not the model's prompt
_MINE: Final = (
    r"(?:\b(?:mon|ma|mes|mi|mis|mein\w*|mio|mia|miei|mie|meu|minha|meus|mój|moja|moje|мой|мою|мои|"
    r"моей|my|cómo|como|comment|wie|come|jak|как|hoe|nasıl)\b|我的|如何|怎么|怎样)"
)
_NOT_CJK_W: Final = r"(?:(?![\u3040-\u30ff\u3400-\u9fff\uac00-\ud7af])\w)*"  # CJK has no word ends
ML_EXTRACT: Final = (
    rf"(?:{_alt(ML_REVEAL)}){_NOT_CJK_W}(?:(?!{_MINE})[^.\n。]){{0,60}}?(?:{_alt(ML_TARGETS)})"
    rf"(?!\w*(?:\s+\w+){{0,2}}\s+(?:de|du|des|of|von|di|do|da|del)\s+{_MINE})"
)
ML_OVERRIDE_REV: Final = rf"(?:{_alt(ML_NOUNS)})[^.\n。]{{0,30}}?(?:{_alt(ML_SOV_VERBS)})"
ML_EXTRACT_REV: Final = rf"(?:{_alt(ML_TARGETS)})[^.\n。]{{0,30}}?(?:{_alt(ML_SOV_REVEAL)})"

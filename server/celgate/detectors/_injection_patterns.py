# ruff: noqa: RUF001  (non-ASCII look-alikes are the point: multilingual phrase patterns)
"""Phrase patterns for prompt-injection signals (RE2 syntax, case-insensitive, multilingual).

Kept apart from the scoring logic so the phrase lists can grow without touching the algorithm.
Languages: en, es, fr, de, pt, it, ru, zh, ja, ko (override); fewer for the other signals.
``S`` is a gap of whitespace/punctuation so "ignore, all previous" still matches.
"""

from __future__ import annotations

S = r"[\s,;:.!\-–—]+"
OPT = r"(?:[\pL\pN'’]+" + S + r"){0,2}?"

# Override phrasing needs an *instruction noun* ("instructions", "rules", "prompt", "system
# message", ...) or a reference to everything before the injected text ("everything above",
# "the above." / "the above and ..."): "disregard the earlier draft", "ignore the old checklist",
# "ignore my previous message" are ordinary requests, not attacks.
NOUNS = (
    r"(?:instructions?|directions?|directives?|rules|guidelines|commands?|prompts?|inputs?|orders"
    r"|conversations?|messages|context|programming|restrictions|constraints|guardrails|policies|filters"
    r"|(?:system|developer)[ \t]+(?:messages?|prompts?))\b"
)
EARLIER = r"(?:previous|prior|preceding|above|earlier|former|original|initial|foregoing|old|past)"
# After "the above" / "everything before": end of sentence, end of text, or a conjunction, so
# "ignore the above warning" (a noun follows) stays ordinary.
ENDS = r"(?:[ \t]*(?:[.,;:!?)\]}>—–-]|(?m:$))|\s+(?:and|then|&|this|that|it|in|to|from|now)\b)"
OVERRIDE_VERB = r"\b(?:ignore|disregard|forget|bypass|override|overlook|neglect|abandon|discard|skip)"

OVERRIDE = [
    # en: verb + determiners + earlier-modifier + (up to 2 words) + instruction noun
    OVERRIDE_VERB
    + S
    + r"(?:(?:all|any|of|the|your|its|these|those|my|each|every)"
    + S
    + r"){0,4}"
    + EARLIER
    + S
    + r"(?:[\pL\pN'’-]+[ \t]+){0,2}?"
    + NOUNS,
    # en: "ignore the above.", "disregard everything before this line", "forget what was said above and"
    OVERRIDE_VERB
    + S
    + r"(?:all"
    + S
    + r"(?:of"
    + S
    + r")?)?"
    + r"(?:everything|anything|all|the|what(?:ever)?[ \t]+(?:was|has[ \t]+been|you[ \t]+were)[ \t]+"
    + r"(?:said|written|told|given|stated))"
    + S
    + r"(?:(?:text|content|words)"
    + S
    + r")?"
    + r"(?:above|before|previously|preceding|so[ \t]+far|until[ \t]+now)"
    + ENDS,
    r"\b(?:ignore|disregard|forget|override|bypass|circumvent)"
    + S
    + r"(?:all"
    + S
    + r"|of"
    + S
    + r")?"
    + r"(?:your|the|my|these|any|its|all)"
    + S
    + OPT
    + r"(?:instructions|rules|guidelines|programming|restrictions|guardrails|directives|system prompt"
    + r"|safety[ \t]+(?:rules|guidelines|filters|settings|measures|protocols)|filters?|constraints|policies"
    + r"|training)\b",
    r"\b(?:do not|don't|stop|never)"
    + S
    + r"(?:follow|obey|listen to|following|obeying)"
    + S
    + r"(?:your|the|any)"
    + S
    + OPT
    + r"(?:instructions|rules|guidelines)\b",
    r"\b(?:new|updated|revised|real|actual|important|urgent)" + S + r"(?:instructions?|rules|task|orders)" + r"[ \t]*:",
    r"\bstop everything\b",
    r"\b(?:just|instead|only)" + S + r"(?:say|print|output|write|respond with|reply with)" + S + r"[\"'“‘]",
    # es
    r"\b(?:ignora|ignore|ignorar|olvida|olvidar|omite)"
    + S
    + r"(?:todas?"
    + S
    + r")?(?:las|tus|los|sus)?"
    + r"[\s,]*(?:instrucciones|indicaciones|reglas|órdenes|directrices)(?:"
    + S
    + r"(?:anteriores|previas))?",
    r"\bignora" + S + r"(?:todo" + S + r")?lo" + S + r"anterior\b",
    # fr
    r"\b(?:ignore|ignorez|ignorer|oublie|oubliez|oublier)"
    + S
    + r"(?:toutes"
    + S
    + r")?(?:les|tes|vos)"
    + S
    + r"(?:instructions|consignes|règles|directives)",
    r"\bignore[rz]?" + S + r"(?:tout" + S + r")?ce" + S + r"qui" + S + r"précède",
    # de
    r"\b(?:ignorier(?:e|en|t)?|vergiss|vergessen"
    + S
    + r"sie|missachte)"
    + S
    + r"(?:alle"
    + S
    + r")?"
    + r"(?:vorherigen|bisherigen|obigen|vorigen|vorangegangenen|deine|ihre|die)?"
    + S
    + r"?"
    + r"(?:Anweisungen|Instruktionen|Befehle|Regeln|Vorgaben)",
    r"\bignorier(?:e|en)?" + S + r"alles" + S + r"(?:oben|vorherige|bisherige|davor)",
    # pt / it
    r"\b(?:ignore|ignora|esqueça|esqueca|desconsidere)"
    + S
    + r"(?:todas"
    + S
    + r"|tutte"
    + S
    + r")?"
    + r"(?:as|le|suas)?"
    + S
    + r"?(?:instruções|instrucoes|regras|istruzioni|regole)"
    + r"(?:"
    + S
    + r"(?:anteriores|precedenti))?",
    # ru
    r"(?:игнорируй(?:те)?|проигнорируй(?:те)?|забудь(?:те)?|не обращай(?:те)? внимания на)"
    + S
    + r"(?:все"
    + S
    + r")?(?:(?:предыдущие|прошлые|прежние|свои|эти|данные)"
    + S
    + r")?"
    + r"(?:инструкции|указания|правила|команды)",
    # zh
    r"(?:忽略|无视|忽视|忘记|忘掉|不要理会|不要遵守)(?:掉)?(?:之前|以上|上面|先前|前面|上述|所有|你的|全部)?"
    r"(?:的)?(?:所有|全部|一切)?(?:的)?(?:指令|指示|说明|规则|提示|要求|命令)",
    # ja / ko
    r"(?:以前|前|上記|これまで|すべて)の(?:指示|命令|ルール|指令)を(?:無視|忘れ)",
    r"(?:指示|命令)を無視して",
    r"이전\s*(?:의\s*)?(?:지시|명령|지침)(?:을|를|은|는)?\s*(?:모두\s*)?무시",
]

ROLE = [
    r"\byou" + S + r"are" + S + r"now" + S + r"(?:a|an|the|my|in|going)\b",
    r"\bfrom" + S + r"now" + S + r"on" + S + r"?you(?:" + S + r"(?:are|will|must|shall)|'re|’re)\b",
    r"\bpretend" + S + r"(?:to" + S + r"be|you" + S + r"are|you're|that" + S + r"you)\b",
    r"\b(?:role[- ]?play|roleplay)" + S + r"as\b",
    r"\byour" + S + r"new" + S + r"(?:role|persona|name|identity|instructions)" + S + r"(?:is|are)\b",
    r"\b(?:act|behave|respond|answer)"
    + S
    + r"as"
    + S
    + r"(?:if"
    + S
    + r"you"
    + S
    + r"(?:are|were)"
    + S
    + r")?(?:an?"
    + S
    + r")?(?:unrestricted|unfiltered|uncensored|evil|jailbroken|rogue|amoral|malicious)",
    # es, fr, de, pt, ru, zh, ja
    r"\bahora" + S + r"eres\b|\ba" + S + r"partir" + S + r"de" + S + r"ahora" + S + r"(?:eres|serás|actuarás)",
    r"\bfinge" + S + r"(?:ser|que" + S + r"eres)\b|\bactúa" + S + r"como" + S + r"(?:si" + S + r"fueras|un)",
    r"\btu" + S + r"es" + S + r"maintenant\b|\bà" + S + r"partir" + S + r"de" + S + r"maintenant" + S + r"tu\b",
    r"\bfais" + S + r"semblant" + S + r"d'être\b|\bagis" + S + r"comme" + S + r"(?:si|un)",
    r"\bdu"
    + S
    + r"bist"
    + S
    + r"(?:jetzt|nun|ab"
    + S
    + r"sofort)\b|\bab"
    + S
    + r"(?:jetzt|sofort)"
    + S
    + r"bist"
    + S
    + r"du\b|\btu"
    + S
    + r"so,"
    + S
    + r"?als\b",
    r"\bagora" + S + r"você" + S + r"é\b|\bfinja" + S + r"(?:ser|que)\b",
    r"теперь" + S + r"ты\b|с" + S + r"этого" + S + r"момента" + S + r"ты\b|притворись\b",
    r"你现在是|从现在开始[,，]?\s*你|扮演一个|假装你是",
    r"あなたは今から|今からあなたは|のふりをして|として振る舞って",
]

JAILBREAK = [
    r"(?-i:\bDAN\b)|\bdo" + S + r"anything" + S + r"now\b|\bdeveloper" + S + r"mode\b|\bjailbr(?:eak|oken)",
    r"\b(?:no|without"
    + S
    + r"(?:any"
    + S
    + r")?)(?:restrictions|limitations|filters|censorship|guidelines"
    + r"|ethical"
    + S
    + r"(?:guidelines|constraints)|moral"
    + S
    + r"(?:guidelines|constraints))\b",
    r"\b(?:unfiltered|uncensored|unrestricted|amoral)"
    + S
    + r"(?:ai|mode|response|responses|model|assistant"
    + r"|chatbot|version)\b",
    r"\bopenai(?:'s)?" + S + r"(?:content" + S + r")?polic(?:y|ies)\b|\bevil" + S + r"confidant\b",
    r"\bstay" + S + r"in" + S + r"character\b|\banti-?dan\b",
]

EXTRACT = [
    r"\b(?:reveal|show|print|repeat|output|display|tell|give|share|leak|dump|spell|write|recite|list|provide"
    + r"|disclose|expose|return|echo)"
    + S
    + r"(?:me"
    + S
    + r"|out"
    + S
    + r"|back"
    + S
    + r")?"
    + OPT
    + r"(?:your|the|my|all|any)"
    + S
    + r"(?:(?:full|entire|exact|complete|original|initial|hidden|secret"
    + r"|previous|above)"
    + S
    + r")*"
    + r"(?:system"
    + S
    + r"(?:prompt|message|instructions)|initial"
    + S
    + r"(?:prompt|instructions)"
    + r"|original"
    + S
    + r"(?:prompt|instructions)|hidden"
    + S
    + r"(?:prompt|instructions)|pre-?prompt"
    + r"|prompt"
    + S
    + r"(?:above|text)|instructions"
    + S
    + r"(?:above|you"
    + S
    + r"were"
    + S
    + r"given)"
    + r"|developer"
    + S
    + r"(?:message|instructions)|secret"
    + S
    + r"(?:prompt|instructions|password|key))",
    r"\bwhat"
    + S
    + r"(?:is|are|was|were)"
    + S
    + r"your"
    + S
    + r"(?:system"
    + S
    + r"prompt|initial"
    + S
    + r"instructions|original"
    + S
    + r"instructions|instructions|rules|hidden"
    + S
    + r"instructions)\b",
    r"\b(?:repeat|print|output|copy|write)"
    + S
    + r"(?:the"
    + S
    + r"|all"
    + S
    + r")?(?:words|text|everything"
    + r"|content|lines)"
    + S
    + r"(?:above|before"
    + S
    + r"this|prior)",
    r"\b(?:starting|beginning)" + S + r"with" + S + r"[\"'“]?you" + S + r"are\b",
    # es, fr, de, pt, ru, zh, ja
    r"\b(?:revela|muestra|repite|dime|imprime|muéstrame)"
    + S
    + r"(?:tu|el|tus|las)"
    + S
    + r"(?:prompt"
    + S
    + r"del"
    + S
    + r"sistema|instrucciones|mensaje"
    + S
    + r"del"
    + S
    + r"sistema)",
    r"\b(?:révèle|montre|affiche|répète|donne)(?:"
    + S
    + r"moi|-moi)?"
    + S
    + r"(?:ton|votre|le|tes|vos)"
    + S
    + r"(?:prompt|message"
    + S
    + r"système|instructions"
    + S
    + r"(?:initiales|système|d'origine))",
    r"\b(?:zeige?|verrate|wiederhole|gib)"
    + S
    + r"(?:mir"
    + S
    + r")?(?:deinen|den|deine|die|ihren|ihre)"
    + S
    + r"(?:System-?prompt|Systemnachricht|ursprünglichen"
    + S
    + r"Anweisungen|Anfangsanweisungen"
    + r"|Anweisungen)",
    r"\b(?:revele|mostre|repita)" + S + r"(?:seu|o|suas|as)" + S + r"(?:prompt|instruções)",
    r"(?:покажи|раскрой|повтори|выведи|напиши)"
    + S
    + r"(?:мне"
    + S
    + r")?(?:свой|свои|твой|твои|системный)"
    + S
    + r"(?:системный"
    + S
    + r")?(?:промпт|инструкции|запрос)",
    r"(?:显示|输出|告诉我|重复|打印|泄露|透露)(?:一下)?(?:你的)?(?:系统提示|系统指令|系统消息|初始指令|初始提示"
    r"|原始指令|提示词)",
    r"システムプロンプトを(?:教えて|表示|見せて|出力)",
]

TEMPLATE = [
    r"<\|(?:im_start|im_end|system|user|assistant|endoftext|eot_id|start_header_id|end_header_id"
    + r"|begin_of_text|fim_prefix|fim_suffix|fim_middle)\|>",
    r"\[/?INST\]|<</?SYS>>|<(?:start|end)_of_turn>",
    r"</?(?:system|system_prompt|sys|instructions)>",
    r"(?m:^[ \t]*#{2,4}[ \t]*(?:system|instruction|instructions)[ \t]*:?[ \t]*$)",
    r"(?m:^[ \t]*[\[<(]?(?:system|assistant|developer)[\]>)]?[ \t]*:)",
]

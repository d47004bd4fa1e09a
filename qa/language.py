"""The policies' language: how a clause forbids, permits, requires or sets a condition.

One place for the modality patterns that the verdict, retrieval's structure terms, the citation
highlight, the quiz generator and the contradiction check read, so that they cannot drift apart.
Each pattern is about the documents' text (statute and policy Chinese), not about any one question.
"""
from __future__ import annotations

import re

# Modality, broad: what the verdict and retrieval treat as a rule of each kind.
PROHIBITION = re.compile(r"不得|严禁|禁止|不能|不许|不准|不可|绝对不许|不宜")
PERMISSION = re.compile(r"可以|允许|方可|才可|可采用|可在")
DUTY = re.compile(r"必须|应当|应|须|需|负责|至少|要求|要")

# Modality, explicit: the unambiguous words, where a false match costs more than a miss (two
# documents flagged as contradicting each other, a quiz statement turned into its opposite).
EXPLICIT_PROHIBITION = re.compile(r"不得|严禁|禁止|不准")
EXPLICIT_PERMISSION = re.compile(r"可以|允许|有权")
EXPLICIT_DUTY = re.compile(r"必须|应当")
PERMISSION_WORD = re.compile(r"可以")  # the one permission word a quiz flip can swap for 不得

# Conditions and exceptions.
UNLESS = re.compile(r"未经([^，,。；;]{1,12}?)(允许|批准|许可|审核|同意|审批)")
ONLY_AFTER = re.compile(r"经([^，,。；;]{1,12}?)(批准|审批|同意|允许|审核)[^，,。；;]{0,4}?后(才可|方可|才能)")
# any condition first: "…交纳相关费用后方可实施" permits only once the condition is met
CONDITIONAL = re.compile(r"后(?:才可|方可|才能|才可以)|(?:只有|只能|仅限)[^，,。；;]{1,20}(?:才|方)")

# Clauses: a sentence or a semicolon-separated part (with its closing mark), or without it.
CLAUSE = re.compile(r"[^。；;!！?？\n]+[。；;!！?？]?")
CLAUSE_BODY = re.compile(r"[^。；;!！?？\n]+")
CLAUSE_END = re.compile(r"[，。；;！!？?\n]")  # where the action a modal word governs ends

# Numbers a unit states (an answer to "how many / how much" needs one).
STATES_NUMBER = re.compile(r"\d|[一二三四五六七八九十两百千万]+(?:个|天|年|次|倍|人|分钟|小时|级|项|%)|百分")
STATES_AMOUNT = re.compile(r"\d|[一二三四五六七八九十百千万两]+(?:元|块|个|次|%|倍)|百分")


def conditional(clause: str) -> bool:
    """The clause permits on a condition (未经…不得, 经…批准后方可, …后方可) rather than forbidding outright."""
    return bool(UNLESS.search(clause) or ONLY_AFTER.search(clause) or CONDITIONAL.search(clause))


def forbids(clause: str) -> bool:
    """The clause forbids, or permits only after a condition (未经…不得, 经…批准后方可, …后方可)."""
    return bool(PROHIBITION.search(clause) or ONLY_AFTER.search(clause) or CONDITIONAL.search(clause))

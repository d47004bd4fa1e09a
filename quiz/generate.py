"""Quiz items built from the indexed units, correct by construction and checked before they are emitted.

Every item rests on a ruling clause of its source unit(s) — a clause with a modality, a number or a
condition, from a unit that rules (not the essay, not a descriptive passage; see quiz/rubric.py and
quiz/README.md):
- tf      a rule clause as written (正确), or with one modal word flipped (不得 ↔ 可以, 必须 → 无需, 有权 →
          无权) where a condition or number governs it, or with its number changed (错误); for a role's
          duties, a duty of that role or of another role of the same document;
- choice  "which is permitted / forbidden" (right option from a 可以 / 不得 clause, distractors from the
          other kind, same document and same actor), "which is a duty of X", or "how many" with numeric
          distractors;
- multi   several forbidden (or permitted) actions from different articles among the other kind, all
          from one document and about one actor;
- cloze   a number or a key term blanked.
The explanation quotes the ruling clause(s), not the whole unit. Then ``validate`` re-checks each item
against the corpus text; failures are dropped and counted. No language model is needed.
"""
from __future__ import annotations

import hashlib
import random
import re
from collections import Counter
from dataclasses import asdict, dataclass, field, replace

from indexer.parse import Unit, without_marker
from indexer.tokenize import tokens
from qa.language import CLAUSE_BODY as CLAUSE
from qa.language import EXPLICIT_DUTY as MUST
from qa.language import EXPLICIT_PROHIBITION as FORBID
from qa.language import PERMISSION_WORD as PERMIT
from qa.verdict import topic
from quiz.rubric import MAX_EXPLANATION, Corpus, condition, governed, rule_clause

TYPES = ("tf", "choice", "multi", "cloze")
FLIP = [(FORBID, "可以"), (PERMIT, "不得"), (MUST, "无需"), (re.compile("有权"), "无权")]
NUMBER = re.compile(r"(\d+)(年|天|日|次|个|小时|分钟|㎡|%|人|元|家|名|周|月)")
PUNCT = re.compile(r"[\s,，。；;：:、!！?？“”\"'（）()《》]")
# Whose conduct a clause governs: a rule about people, not an essay's "可以使应收账款长期拖延".
ACTOR = re.compile(r"(人员|员工|活动方|商家|商户|经纪人|客户经理|主持人|营业部|机构|个人)$")
NEXT_DUTY = re.compile(r"[,，](?=及时|保持|爱护|合理|注意|应|要|须|并且|同时|如)")
# the party a condition names: 未经公司允许 / 经营业部审核后方可 / 须报市场部经理审批
CONDITION_PARTY = re.compile(r"(?:未经过?|须经过?|需经过?|经过?|报)([^，,。；;、]{2,8}?)(?:允许|批准|许可|审核|同意|审批)")
STOP_PARTY = {"相关", "有关"}
STOP = set("营销 人员 营销人员 客户 公司 进行 相关 有关 工作 负责 以及 或者 及 与 和 的 等 在 对 为 并 其 该".split())


def norm(text: str) -> str:
    """Text without punctuation or spaces: "occurs in the article up to punctuation"."""
    return PUNCT.sub("", text)


@dataclass
class Source:
    unit_id: str
    doc_id: str
    doc_title: str
    label: str
    text: str

    @classmethod
    def of(cls, unit: Unit) -> "Source":
        return cls(unit.id, unit.doc_id, unit.doc_title, unit.label, unit.text)


@dataclass
class Item:
    type: str
    stem: str
    options: list[str]
    answer: list[str]  # the right option(s); for tf "正确"/"错误" (True/False); for cloze the blanked text
    explanation: str
    source: Source
    sources: list[Source] = field(default_factory=list)  # every unit the key rests on (multi: several)
    lang: str = "zh"
    kind: str = ""  # how it was built: faithful, flipped, number, duty, permitted, forbidden, quantity, term
    id: str = ""
    ruling: list[str] = field(default_factory=list)  # the ruling clause of each source, verbatim

    def to_dict(self) -> dict:
        return asdict(self)


@dataclass
class Clause:
    text: str  # verbatim, without the unit's label
    unit: Unit


class QuizError(ValueError):
    """The quiz cannot be made as asked (unknown document, bad count, too few items)."""


def clauses(units: list[Unit], corpus: Corpus | None = None) -> list[Clause]:
    """The clauses an item may rest on: rules (a modality, a number or a condition) from units that
    rule, not from the essay or a descriptive passage (quiz/README.md, the rubric)."""
    corpus = corpus or Corpus(units)
    out = []
    for u in units:
        if not corpus.source(u):
            continue
        for c in CLAUSE.findall(without_marker(u.text)):
            c = c.strip(" ,，")
            if 8 <= len(c) <= 120 and rule_clause(c):
                out.append(Clause(c, u))
    return out


def flip(clause: str) -> str | None:
    """The clause with one modal word turned into its opposite, only where a condition or a number
    governs that word (未经公司允许,不得… → 未经公司允许,可以…; 投诉超过2次的,广场有权… → 无权…):
    the opposite of an unconditional rule (严禁高音扰民 → 可以高音扰民) is a statement nobody believes."""
    for pat, new in FLIP:
        for m in pat.finditer(clause):
            if governed(clause, m.start()):
                return clause[:m.start()] + new + clause[m.end():]
    return None


def actor(clause: str, modality: re.Pattern[str]) -> str:
    """Whose conduct the clause governs (营销人员, 活动方人员): options of one item share it."""
    m = modality.search(clause)
    return re.sub(r"在.*$", "", re.split(r"[,，]", clause[:m.start()])[-1]).strip() if m else ""


def action(clause: str, modality: re.Pattern[str]) -> str | None:
    """What the clause permits or forbids: 营销人员不得以公司…签订合同 → 以公司…签订合同."""
    m = modality.search(clause)
    if not m or len(modality.findall(clause)) > 1 or "未经" in clause[:m.start()] or condition(clause[:m.start()]):
        return None
    subject = re.sub(r"在.*$", "", re.split(r"[,，]", clause[:m.start()])[-1]).strip()
    if not ACTOR.search(subject) or "的" in subject:  # "…规定的营销人员可以…" is no plain rule
        return None
    rest = clause[m.end():].strip(" ,，")
    # "严禁在活动区内抽烟,及时回收宣传单": what follows the comma is a different duty, not forbidden
    cut = NEXT_DUTY.search(rest)
    if cut:
        rest = rest[:cut.start()]
    return rest if 6 <= len(rest) <= 60 else None


def _explain(sources: list[Source], ruling: list[str], lang: str) -> str:
    """The ruling clause(s) verbatim with where they stand, not the whole unit: all sources of an
    item are in one document, so its title is named once."""
    refs = "；".join(f"{s.label}：{r}" for s, r in zip(sources, ruling))
    return f"依据《{sources[0].doc_title}》{refs}" if lang == "zh" else f"Source: 《{sources[0].doc_title}》{refs}"


def _numbers_near(n: int, rng: random.Random, k: int, unit: str = "") -> list[int]:
    """Distractors a reader could believe: near a small count (3 → 2, 4, 5), in the same round steps
    for a round number (100 → 50, 150, 200, not 101 or 102)."""
    if n < 10:
        pool = {n * 2, n + 1, n + 2, max(1, n - 1), max(1, n // 2)}
    else:
        step = next(s for s in (100, 50, 10, 5, 1) if n % s == 0 and s <= n)
        pool = {n * 2, max(step, n // 2 // step * step), n + step, max(step, n - step), n * 3 // 2 // step * step}
    if unit == "%":  # a share: plausible distractors stay within 0–100
        pool = {x for x in pool | {n - 10, n - 20, n // 2 + 5} if 0 < x <= 100}
    pool = sorted(pool - {n, 0})
    rng.shuffle(pool)
    return pool[:k]


SIMILAR_DUTY = 0.4  # token overlap (Jaccard) above which two duties say much the same thing


def _overlap(a: set[str], b: set[str]) -> float:
    return len(a & b) / len(a | b) if a | b else 0.0


def leaks(stem: str, answer: str, options: list[str]) -> bool:
    """The key is the only option sharing a word with the stem (以下哪项属于大客户部经理职责？ → the only
    option naming 大客户): it can be picked without knowing the rule."""
    asked = {t for t in tokens(stem) if len(t) >= 2} - STOP
    shared = lambda o: asked & {t for t in tokens(o) if len(t) >= 2}  # noqa: E731
    return bool(shared(answer)) and not any(shared(o) for o in options if o != answer)


def names_role(role: str, duty: str) -> bool:
    """The duty uses a word of the role's name (客户部经理 … 客户): a true/false item on it is decided by
    the words, not by knowing the role."""
    return bool(({t for t in tokens(role) if len(t) >= 2} - STOP - ROLE_WORDS) & set(tokens(duty)))


ROLE_WORDS = {"经理", "主管", "职责", "岗位", "部门", "专员", "总监"}


class Generator:
    def __init__(self, units: list[Unit], lang: str = "zh") -> None:
        if lang not in ("zh", "en"):
            raise QuizError("lang must be zh or en")
        self.units = units
        self.lang = lang
        self.corpus = Corpus(units)
        self.clauses = clauses(units, self.corpus)
        self.doc_norm = {d: norm("".join(u.text for u in units if u.doc_id == d)) for d in {u.doc_id for u in units}}
        self.frequency = Counter(t for u in units for t in set(tokens(u.text)))
        roles: dict[str, list[Unit]] = {}
        for u in units:
            if u.doc_id and topic(u) and re.search(r"职责|权力", " ".join(u.path)) and self.corpus.source(u):
                roles.setdefault(topic(u), []).append(u)
        # A duty listed for several roles (完成上级临时交办的工作) tells one role from another by nothing:
        # neither the key nor a distractor of a role item.
        listed = Counter(norm(without_marker(u.text).rstrip("；;。")) for us in roles.values() for u in us)
        roles = {r: [u for u in us if listed[norm(without_marker(u.text).rstrip("；;。"))] == 1] for r, us in roles.items()}
        self.roles = {r: us for r, us in roles.items() if len(us) >= 2}
        self.by_id = {u.id: u for u in units}
        # (action, clause) pairs: what rules about people permit, and what they forbid
        self.permitted = [(a, c) for c in self.clauses if (a := action(c.text, PERMIT))]
        self.forbidden = [(a, c) for c in self.clauses if (a := action(c.text, FORBID))]
        self.role_doc = {r: us[0].doc_id for r, us in self.roles.items()}
        self.said = {"permitted": [norm(c.text) for c in self.clauses if PERMIT.search(c.text)],
                     "forbidden": [norm(c.text) for c in self.clauses if FORBID.search(c.text)]}

    # --- texts in the chosen language ------------------------------------------------------------
    def _t(self, zh: str, en: str) -> str:
        return zh if self.lang == "zh" else en

    def _statement(self, text: str) -> str:
        return self._t(f"判断正误：{text}", f"True or false? The policy says: “{text}”")

    def _tf_options(self) -> list[str]:
        return ["正确", "错误"] if self.lang == "zh" else ["True", "False"]

    # --- candidates: every item the corpus supports, built lazily per type -----------------------
    def candidates(self, kind: str, rng: random.Random) -> list[Item]:
        return getattr(self, f"_{kind}")(rng)

    def _duty(self, u: Unit) -> str:
        return without_marker(u.text).rstrip("；;。")

    def _other_roles(self, role: str) -> list[Unit]:
        """Duties of the other roles of the same document (a distractor never comes from elsewhere)
        that resemble none of this role's own: "客户开发主管 collects customer information" would be
        defensible for a role whose list has a duty much like it."""
        own = [set(tokens(self._duty(u))) for u in self.roles[role]]
        return [u for r, us in self.roles.items() if r != role and self.role_doc[r] == self.role_doc[role] for u in us
                if all(_overlap(set(tokens(self._duty(u))), o) < SIMILAR_DUTY for o in own)]

    def _tf(self, rng: random.Random) -> list[Item]:
        yes, no = self._tf_options()
        items = []
        for c in self.clauses:
            src = Source.of(c.unit)
            flipped = flip(c.text)
            if flipped:  # the rule as written and its plausible opposite, both resting on a condition or number
                items.append(Item("tf", self._statement(c.text), [yes, no], [yes], "", src, kind="faithful",
                                  ruling=[c.text]))
                items.append(Item("tf", self._statement(flipped), [yes, no], [no], "", src, kind="flipped",
                                  ruling=[c.text]))
            m = NUMBER.search(c.text)
            if m:
                other = _numbers_near(int(m.group(1)), rng, 1, m.group(2))[0]
                changed = c.text[:m.start()] + f"{other}{m.group(2)}" + c.text[m.end():]
                items.append(Item("tf", self._statement(changed), [yes, no], [no], "", src, kind="number",
                                  ruling=[c.text]))
        for role, units in self.roles.items():
            others = self._other_roles(role)
            if not others:
                continue
            for u in units:
                duty = self._duty(u)
                if names_role(role, duty):
                    continue  # "促销推广主管 trains 促销 staff": true on its face
                stem = self._t(f"判断正误：{role}包括“{duty}”。", f"True or false? “{role}” includes: “{duty}”")
                items.append(Item("tf", stem, [yes, no], [yes], "", Source.of(u), kind="duty", ruling=[duty]))
                wrong = rng.choice(others)
                if names_role(role, self._duty(wrong)):
                    continue
                stem = self._t(f"判断正误：{role}包括“{self._duty(wrong)}”。",
                               f"True or false? “{role}” includes: “{self._duty(wrong)}”")
                # the ruling clause is where the quoted duty stands: another role's list
                items.append(Item("tf", stem, [yes, no], [no], "", Source.of(u), [Source.of(wrong)], kind="duty",
                                  ruling=[self._duty(wrong)]))
        return items

    def _pools(self, right: list, pool: list) -> list[tuple[list, list]]:
        """(right, pool) per document and actor: the options of one item all come from one document
        and govern the same people (no mall smoking rule beside a broker's privacy rule)."""
        groups: dict[tuple[str, str], tuple[list, list]] = {}
        for kind, pairs in ((0, right), (1, pool)):
            for a, c in pairs:
                key = (c.unit.doc_id, actor(c.text, FORBID if pairs is self.forbidden else PERMIT))
                groups.setdefault(key, ([], []))[kind].append((a, c))
        return [groups[k] for k in sorted(groups)]

    def _choice(self, rng: random.Random) -> list[Item]:
        items = []
        for right_all, pool_all, kind, stem in (
            (self.permitted, self.forbidden, "permitted", self._t("根据制度规定，以下哪项做法是允许的？",
                                                                 "Under the policies, which of these is permitted?")),
            (self.forbidden, self.permitted, "forbidden", self._t("根据制度规定，以下哪项做法是禁止的？",
                                                                 "Under the policies, which of these is forbidden?")),
        ):
            for right, pool in self._pools(right_all, pool_all):
                if len(pool) < 3:
                    continue
                for a, c in right:
                    wrong = [w for w, _ in rng.sample(pool, 3)]
                    options = [a] + wrong
                    rng.shuffle(options)
                    items.append(Item("choice", stem, options, [a], "", Source.of(c.unit), kind=kind, ruling=[c.text]))
        for c in self.clauses:
            m = NUMBER.search(c.text)
            if not m:
                continue
            n, unit_word = int(m.group(1)), m.group(2)
            blanked = c.text[:m.start()] + "（  ）" + c.text[m.end():]
            options = [f"{x}{unit_word}" for x in [n] + _numbers_near(n, rng, 3, unit_word)]
            rng.shuffle(options)
            stem = self._t(f"根据规定，“{blanked}”中括号处应为？", f"Under the policy, what goes in the brackets: “{blanked}”?")
            items.append(Item("choice", stem, options, [f"{n}{unit_word}"], "", Source.of(c.unit), kind="quantity",
                              ruling=[c.text]))
        for role, units in self.roles.items():
            others = self._other_roles(role)
            if len(others) < 3:
                continue
            for u in units:
                right = self._duty(u)
                wrong = [self._duty(o) for o in rng.sample(others, 3)]
                options = [right] + wrong
                rng.shuffle(options)
                stem = self._t(f"以下哪项属于{role}？", f"Which of these belongs to “{role}”?")
                if leaks(role, right, options):
                    continue
                items.append(Item("choice", stem, options, [right], "", Source.of(u), kind="duty", ruling=[right]))
        return items

    def _multi(self, rng: random.Random) -> list[Item]:
        items = []
        for right_all, pool_all, kind, stem in (
            (self.forbidden, self.permitted, "forbidden", self._t("根据制度规定，以下哪些做法是禁止的？（多选）",
                                                                 "Under the policies, which of these are forbidden? (choose all)")),
            (self.permitted, self.forbidden, "permitted", self._t("根据制度规定，以下哪些做法是允许的？（多选）",
                                                                 "Under the policies, which of these are permitted? (choose all)")),
        ):
            for right, pool in self._pools(right_all, pool_all):
                if len(right) < 3 or len(pool) < 2:
                    continue
                for _ in range(len(right)):
                    keys = rng.sample(right, rng.choice((2, 3)))
                    if len({c.unit.id for _, c in keys}) < len(keys):
                        continue
                    wrong = [w for w, _ in rng.sample(pool, min(len(pool), 5 - len(keys)))]
                    options = [a for a, _ in keys] + wrong
                    rng.shuffle(options)
                    srcs = [Source.of(c.unit) for _, c in keys]
                    ruling = [c.text for _, c in keys]
                    if len(_explain(srcs, ruling, self.lang)) > MAX_EXPLANATION:
                        continue  # the explanation would not be short: take fewer or shorter keys
                    answer = [o for o in options if o in {a for a, _ in keys}]  # in the options' order
                    items.append(Item("multi", stem, options, answer, "", srcs[0], srcs, kind=kind, ruling=ruling))
        return items

    def _cloze(self, rng: random.Random) -> list[Item]:
        items = []
        for c in self.clauses:
            m = NUMBER.search(c.text)
            if m:
                stem = c.text[:m.start()] + "____" + m.group(2) + c.text[m.end():]
                items.append(Item("cloze", self._t(f"填空：{stem}", f"Fill in the blank: “{stem}”"), [], [m.group(1)], "",
                                  Source.of(c.unit), kind="number", ruling=[c.text]))
            # a word of the rule is worth a blank only where it is the rule's condition: whose approval
            # (未经____允许,不得…); any other word is implied by its sentence or is wording nobody needs
            party = CONDITION_PARTY.search(c.text)
            if party and party.group(1) not in STOP_PARTY and c.text.count(party.group(1)) == 1:
                stem = c.text[:party.start(1)] + "____" + c.text[party.end(1):]
                whose = topic(c.unit) if re.search(r"职责|权力", " ".join(c.unit.path)) else ""
                if whose:  # a duty of a role's list: name the role, or the approver cannot be told
                    stem = f"（{whose}）{stem}"
                items.append(Item("cloze", self._t(f"填空：{stem}", f"Fill in the blank: “{stem}”"), [], [party.group(1)],
                                  "", Source.of(c.unit), kind="term", ruling=[c.text]))
        return items

    # --- validation ------------------------------------------------------------------------------
    def validate(self, item: Item) -> str | None:
        """Why the item is wrong, or None. Independent of how the item was built: it re-reads the text."""
        src = norm(item.source.text)
        yes, no = self._tf_options()
        if item.type == "tf":
            statement = re.sub(r"^(判断正误：|True or false\? The policy says: “)", "", item.stem).rstrip("”")
            if item.kind == "duty":
                duty = re.search(r"“(.+)”", item.stem.split("includes")[-1] if self.lang == "en" else item.stem, re.S)
                if not duty:
                    return "tf: no quoted duty"
                listed = {norm(without_marker(u.text)) for u in self.roles.get(self._role_of(item), [])}
                holds = norm(duty.group(1)) in listed
            else:
                holds = norm(statement) in src
                if item.answer == [no] and norm(statement) in self.doc_norm[item.source.doc_id]:
                    return "tf: a 'false' statement occurs in the document"
            if (item.answer == [yes]) != holds:
                return "tf: key does not follow from the text"
        elif item.type in ("choice", "multi"):
            if len(set(item.options)) != len(item.options) or not set(item.answer) <= set(item.options):
                return f"{item.type}: duplicate options or key not among them"
            texts = [norm(s.text) for s in (item.sources or [item.source])]
            if not all(any(norm(a) in t for t in texts) for a in item.answer):
                return f"{item.type}: a key is not in its source"
            for wrong in set(item.options) - set(item.answer):
                if any(norm(wrong) in t for t in texts):
                    return f"{item.type}: a distractor is also in the source"
                if item.kind in ("permitted", "forbidden") and self._says(wrong, item.kind):
                    return f"{item.type}: a distractor is also {item.kind} somewhere"
                if item.kind == "duty" and norm(wrong) in {norm(without_marker(u.text).rstrip("；;。"))
                                                          for u in self.roles.get(self._role_of(item), [])}:
                    return f"{item.type}: a distractor is also a duty of this role"
        elif item.type == "cloze":
            blank = re.sub(r"^(填空：|Fill in the blank: “)", "", item.stem).rstrip("”")
            blank = re.sub(r"^（[^）]*）", "", blank)  # the role a duty belongs to, named before it
            if "____" not in blank or norm(blank.replace("____", item.answer[0], 1)) not in src:
                return "cloze: the filled-in text is not in the source"
        return None

    def _role_of(self, item: Item) -> str:
        return topic(self.by_id[item.source.unit_id])

    def _says(self, phrase: str, kind: str) -> bool:
        """Does some clause permit (kind=permitted) or forbid (kind=forbidden) this very action?"""
        wanted = norm(phrase)
        return any(wanted in clause for clause in self.said[kind])


def item_id(item: Item) -> str:
    return hashlib.sha1(f"{item.type}|{item.stem}|{'|'.join(item.options)}".encode()).hexdigest()[:10]


@dataclass
class Quiz:
    items: list[Item]
    dropped: Counter  # validation failures, by reason
    duplicates: int
    rephrase_refused: int = 0  # language-model rewordings that failed validation (the original was kept)


def make_quiz(units: list[Unit], n: int, types: tuple[str, ...] = TYPES, seed: int = 0, lang: str = "zh",
              docs: list[str] | None = None) -> Quiz:
    """n validated items, spread over the documents and types asked for; the same seed gives the same quiz."""
    known = sorted({u.doc_id for u in units})
    if docs:
        unknown = [d for d in docs if d not in known]
        if unknown:
            raise QuizError(f"unknown document id(s): {', '.join(unknown)} (known: {', '.join(known)})")
        units = [u for u in units if u.doc_id in docs]
    if n <= 0:
        raise QuizError("--n must be a positive number of items")
    bad = [t for t in types if t not in TYPES]
    if bad or not types:
        raise QuizError(f"unknown item type(s): {', '.join(bad) or '(none)'}; choose from {', '.join(TYPES)}")
    rng = random.Random(seed)
    gen = Generator(units, lang)
    dropped: Counter = Counter()
    pools: dict[tuple[str, str], list[Item]] = {}
    seen: set[str] = set()
    duplicates = 0
    for kind in types:
        for item in gen.candidates(kind, rng):
            reason = gen.validate(item)
            if reason:
                dropped[reason] += 1
                continue
            key = norm(item.stem) + "|" + "|".join(sorted(norm(a) for a in item.answer))
            if key in seen:
                duplicates += 1
                continue
            seen.add(key)
            item.explanation = _explain(item.sources or [item.source], item.ruling, lang)
            item.lang = lang
            item.id = item_id(item)
            pools.setdefault((kind, item.source.doc_id), []).append(item)
    available = sum(len(p) for p in pools.values())
    if available < n:
        raise QuizError(f"only {available} valid items can be made from the selected documents and types; asked for {n}")
    for pool in pools.values():
        rng.shuffle(pool)
    # round-robin over (type, document) so that every type and document is represented
    order = sorted(pools)
    rng.shuffle(order)
    # one item per rule while there are rules left: a second item on the same clause tests the same fact
    items: list[Item] = []
    used: set[str] = set()
    for fresh_only in (True, False):
        progress = True
        while len(items) < n and progress:
            progress = False
            for key in order:
                pool = pools[key]
                pick = next((i for i in range(len(pool) - 1, -1, -1)
                             if not fresh_only or not used & {norm(r) for r in pool[i].ruling}), None)
                if pick is not None and len(items) < n:
                    item = pool.pop(pick)
                    used |= {norm(r) for r in item.ruling}
                    items.append(item)
                    progress = True
    return Quiz(items, dropped, duplicates)


MODALITY_WORDS = {"permitted": (("允许", "permitted"), ("禁止", "forbidden", "不得")),
                  "forbidden": (("禁止", "forbidden"), ("允许", "permitted", "可以"))}


def keeps_meaning(item: Item, stem: str, gen: Generator) -> bool:
    """A reworded stem keeps what the key depends on: every quoted passage and blank verbatim, the
    asked modality (and not its opposite), and the role a duty question names."""
    for quoted in re.findall(r"“(.+?)”", item.stem, re.S):
        if quoted not in stem:
            return False
    body = re.sub(r"^(判断正误：|填空：)", "", item.stem)  # the statement or clause itself, framing aside
    if item.type in ("tf", "cloze") and item.kind != "duty" and body not in stem:
        return False
    if stem.count("____") != item.stem.count("____") or stem.count("（  ）") != item.stem.count("（  ）"):
        return False
    if item.kind in MODALITY_WORDS:
        wanted, opposite = MODALITY_WORDS[item.kind]
        if not any(w in stem for w in wanted) or any(w in stem for w in opposite):
            return False
    if item.kind == "duty" and item.type == "choice" and gen._role_of(item) not in stem:
        return False
    return True


def rephrase(items: list[Item], units: list[Unit], lang: str, rewrite) -> tuple[list[Item], int]:
    """Stems reworded by ``rewrite`` (a language model), each kept only if the item still passes the
    same validation; otherwise the original stays. Returns the items and how many rewrites were refused."""
    gen = Generator(units, lang)
    out, refused = [], 0
    for item in items:
        stem = rewrite(item.stem)
        candidate = replace(item, stem=stem) if stem else None
        if (candidate is not None and stem != item.stem and keeps_meaning(item, stem, gen)
                and gen.validate(candidate) is None):
            candidate.id = item_id(candidate)
            out.append(candidate)
        else:
            refused += stem is not None and stem != item.stem
            out.append(item)
    return out, refused

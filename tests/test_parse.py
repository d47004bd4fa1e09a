"""The parser on the real corpus and on new files in the formats users add."""
from __future__ import annotations

import json
from pathlib import Path

import pytest

from indexer.loaders import DocumentError, read_bytes, read_document
from indexer.parse import parse

CORPUS = Path(__file__).resolve().parent.parent / "corpus"


def parsed(doc_id: str):
    meta = {d["id"]: d for d in json.loads((CORPUS / "manifest.json").read_text(encoding="utf-8"))["documents"]}[doc_id]
    return parse(doc_id, meta["title"], (CORPUS / meta["file"]).read_text(encoding="utf-8"))


def by_id(doc_id: str) -> dict:
    return {u.id: u for u in parsed(doc_id).units}


def test_two_articles_on_one_line_are_split():
    units = by_id("p1")
    assert units["p1:第二十三条"].text.endswith("提供中介、担保或者其他便利。")
    assert units["p1:第二十四条"].text.startswith("第二十四条营销人员不得通过互联网络")
    assert units["p1:第三十九条"].text == "第三十九条营业部举办股评会等宣传活动须履行必要的报备手续。"


def test_duplicated_article_is_kept_twice_with_a_warning():
    result = parsed("p1")
    units = {u.id: u for u in result.units}
    assert "不得出现损害客户合法权益" in units["p1:第四十二条"].text
    assert "由营业部负责解释" in units["p1:第四十二条#2"].text
    assert units["p1:第四十二条#2"].path[-1] == "第四部分附则"
    assert any("第四十二条" in w and "2 times" in w for w in result.warnings)


def test_article_has_label_and_heading_path():
    unit = by_id("p1")["p1:第二十五条"]
    assert unit.label == "第二十五条"
    assert unit.path == ["营销人员合规营销规定", "第三部分营销人员行为规范", "第二节业务要求"]
    assert unit.doc_title == "营销活动规范"


def test_wrapped_lines_are_merged():
    units = by_id("p2")
    assert "可采用语音录制搭配音乐循环播放" in units["p2:1、"].text
    assert "经广场企划部审批合格后" in units["p2:4、"].text


def test_several_duties_on_one_line_become_units():
    units = by_id("p5")
    assert units["p5:二、/20、客户开发主管岗位职责/6."].text == "6.负责代表企业与客户谈判、签订销售合同"
    assert units["p5:一、/5、客服部/职责/3."].label == "一、 5、客服部 职责 3."
    assert units["p5:一、/6、广告部/职责/3."].text == "3.负责广告媒介的策划、选择与购买等工作;"


def test_essay_sections_and_numbered_steps():
    p3, p4 = by_id("p3"), by_id("p4")
    assert p3["p3:会中营销/8."].label == "会中营销 8."
    assert "三分钟左右" in p3["p3:会中营销/8."].text
    assert p4["p4:一、/1./(4)"].path[-1] == "1.渠道成员管理存在的问题"
    assert "窜货" in p4["p4:一、/1./(4)"].text


def test_every_unit_line_is_verbatim_corpus_text():
    """Units may join wrapped lines but never change a character."""
    for doc in ("p1", "p2", "p3", "p4", "p5"):
        source = (CORPUS / f"{doc}.txt").read_text(encoding="utf-8").replace("\n", "")
        for unit in parsed(doc).units:
            for line in unit.text.splitlines():
                assert line in source, (unit.id, line)


GENERIC = """员工差旅管理办法
第一章 总则
第一条 为规范差旅管理，制定本办法。
第二条 本办法适用于全体员工。
第二章 报销
第三条 员工出差应当事先审批，报销时须提供以下材料：
（一）出差审批单；
（二）发票原件。
第四条 未经批准，不得乘坐头等舱。
"""


def test_generic_structure_in_gbk_text(tmp_path):
    path = tmp_path / "差旅.txt"
    path.write_bytes(GENERIC.encode("gbk"))
    result = parse("travel", "差旅", read_document(path))
    units = {u.id: u for u in result.units}
    assert units["travel:第四条"].path == ["员工差旅管理办法", "第二章 报销"]
    # an article's numbered items stay in the article: a statute is cited by article
    assert "（二）发票原件。" in units["travel:第三条"].text and not any("（二）" in i for i in units if i != "travel:第三条")


def test_markdown_and_docx(tmp_path):
    import docx

    md = tmp_path / "gifts.md"
    md.write_text("# 礼品规定\n## 一、收受\n1. 员工不得收受供应商礼品。\n2. 价值100元以下的宣传品可以接受。\n", encoding="utf-8")
    units = parse("gifts", "礼品", read_document(md)).units
    assert [u.text for u in units] == ["1. 员工不得收受供应商礼品。", "2. 价值100元以下的宣传品可以接受。"]

    document = docx.Document()
    for line in GENERIC.splitlines():
        document.add_paragraph(line)
    path = tmp_path / "travel.docx"
    document.save(path)
    ids = {u.id for u in parse("travel", "差旅", read_document(path)).units}
    assert {"travel:第一条", "travel:第四条"} <= ids


@pytest.mark.parametrize("name,data,reason", [
    ("blob.txt", b"\x00\x01\x02binary\x00" * 50, "binary"),
    ("empty.txt", b"   \n\n", "no text"),
    ("tool.exe", b"MZ", "unsupported"),
    ("broken.docx", b"not a zip", "not a readable .docx"),
    ("broken.pdf", b"%PDF-1.4 garbage", "not a readable .pdf"),
    ("latin1.txt", "caf\xe9 ".encode("latin-1") * 3 + b"\xff\xfe\xfd", "not valid"),
])
def test_bad_files_get_a_clear_error_naming_the_file(name, data, reason):
    with pytest.raises(DocumentError) as err:
        read_bytes(data, name)
    assert name in str(err.value) and reason in str(err.value)


def _pdf_with_text(lines: list[str]) -> bytes:
    """A minimal one-page PDF (Helvetica, ASCII text): enough to exercise the PDF reader."""
    content = "BT /F1 12 Tf 72 720 Td 14 TL " + " ".join(f"({line}) Tj T*" for line in lines) + " ET"
    objects = [
        "<< /Type /Catalog /Pages 2 0 R >>",
        "<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        "<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Contents 4 0 R /Resources << /Font << /F1 5 0 R >> >> >>",
        f"<< /Length {len(content)} >>\nstream\n{content}\nendstream",
        "<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
    ]
    out, offsets = "%PDF-1.4\n", []
    for n, body in enumerate(objects, start=1):
        offsets.append(len(out))
        out += f"{n} 0 obj\n{body}\nendobj\n"
    xref = len(out)
    out += f"xref\n0 {len(objects) + 1}\n0000000000 65535 f \n" + "".join(f"{o:010d} 00000 n \n" for o in offsets)
    out += f"trailer\n<< /Size {len(objects) + 1} /Root 1 0 R >>\nstartxref\n{xref}\n%%EOF\n"
    return out.encode("latin-1")


def test_pdf_text_is_read_and_parsed():
    text = read_bytes(_pdf_with_text(["Gift policy", "1. Staff must not accept gifts.", "2. Report every offer."]), "gifts.pdf")
    units = parse("gifts", "Gifts", text).units
    assert [u.text for u in units] == ["1. Staff must not accept gifts.", "2. Report every offer."]


def test_utf16_is_read_and_symbol_only_text_is_refused(tmp_path):
    path = tmp_path / "u16.txt"
    path.write_bytes("第一条 员工不得收受供应商礼品。\n".encode("utf-16"))  # with its byte-order mark
    assert "不得收受" in read_document(path)
    symbols = tmp_path / "dots.txt"
    symbols.write_text("。。。，，，——！！！\n……\n", encoding="utf-8")
    with pytest.raises(DocumentError, match="only punctuation"):
        read_document(symbols)


@pytest.mark.parametrize("bad_id", ["a:b", "../../etc", "x" * 41, "has space"])
def test_a_document_id_that_could_break_unit_ids_or_paths_is_refused(settings, tmp_path, bad_id):
    from indexer.build import check_document

    path = tmp_path / "gifts.md"
    path.write_text("# 礼品规定\n1. 员工不得收受供应商礼品。\n", encoding="utf-8")
    with pytest.raises(DocumentError, match="may hold only"):
        check_document(settings, path, bad_id)


def test_traditional_text_is_folded_and_simplified_text_is_left_as_it_is():
    """to_simplified skips OpenCC for text it would not change; traditional text is still converted,
    in characters and in phrases, and the real documents come out exactly as OpenCC gives them."""
    from pathlib import Path

    from indexer.tokenize import _t2s, to_simplified

    assert to_simplified("我能以公司名義和客戶簽合同嗎？") == "我能以公司名义和客户签合同吗？"
    assert to_simplified("頭髮") == _t2s().convert("頭髮") != "頭髮"
    corpus = Path(__file__).resolve().parent.parent / "corpus"
    lines = [line for f in sorted(corpus.glob("p*.txt")) for line in f.read_text(encoding="utf-8").splitlines()]
    assert len(lines) > 300 and all(to_simplified(line) == _t2s().convert(line) for line in lines)

"""The pure SVG renderer: bars and points carry their values, axes are labelled, text is
escaped, and the result is well-formed XML."""

import xml.etree.ElementTree as ET

from backoffice.charts import bar_chart, line_chart, nice_max

SVG = "{http://www.w3.org/2000/svg}"


def parse(svg: str) -> ET.Element:
    return ET.fromstring(svg)  # noqa: S314 - our own renderer output


def test_bar_chart_has_one_bar_per_value_with_proportional_length():
    root = parse(bar_chart([("Noord", 10), ("Zuid", 5), ("Oost", 0)], title="Per regio"))
    assert root.get("role") == "img"
    assert root.find(f"{SVG}title").text == "Per regio"
    assert root.find(f"{SVG}desc").text == "Noord: 10; Zuid: 5; Oost: 0"
    rects = root.iter(f"{SVG}rect")
    bars = {r.get("data-label"): (float(r.get("data-value")), float(r.get("width"))) for r in rects}
    assert set(bars) == {"Noord", "Zuid", "Oost"}
    assert bars["Noord"][0] == 10 and bars["Zuid"][0] == 5
    # Axis end is 10, so Zuid is exactly half as long as Noord and Oost has no length.
    assert bars["Zuid"][1] * 2 == bars["Noord"][1]
    assert bars["Oost"][1] == 0
    # Tick labels 0..10 along the axis.
    texts = [t.text for t in root.iter(f"{SVG}text")]
    for tick in ("0", "2,5", "5", "7,5", "10"):
        assert tick in texts


def test_bar_chart_percent_axis_is_fixed_at_100():
    root = parse(bar_chart([("A", 50.0)], title="Vulgraad", unit="%", max_value=100))
    (rect,) = root.iter(f"{SVG}rect")
    plot_width = 640 - 200 - 70
    assert float(rect.get("width")) == plot_width / 2
    assert "100%" in [t.text for t in root.iter(f"{SVG}text")]


def test_labels_are_escaped():
    svg = bar_chart([('<script>alert("x")</script>', 1)], title="<b>&</b>")
    assert "<script>" not in svg
    root = parse(svg)  # well-formed despite the markup in the data
    assert root.find(f"{SVG}title").text == "<b>&</b>"


def test_line_chart_points_and_axes():
    root = parse(line_chart([("01-03", 1), ("02-03", 4), ("03-03", 8)], title="Boekingen"))
    points = [(c.get("data-label"), c.get("data-value")) for c in root.iter(f"{SVG}circle")]
    assert points == [("01-03", "1"), ("02-03", "4"), ("03-03", "8")]
    ys = [float(c.get("cy")) for c in root.iter(f"{SVG}circle")]
    assert ys[0] > ys[1] > ys[2]  # higher values are drawn higher up
    assert root.find(f"{SVG}polyline") is not None and root.find(f"{SVG}polygon") is not None
    texts = [t.text for t in root.iter(f"{SVG}text")]
    assert {"01-03", "03-03", "0", "10"} <= set(texts)


def test_empty_and_single_point_charts_are_valid():
    parse(bar_chart([], title="Leeg"))
    root = parse(line_chart([("01-03", 3)], title="Eén"))
    assert len(list(root.iter(f"{SVG}circle"))) == 1


def test_nice_max():
    assert [nice_max(v) for v in (0, 1, 3, 10, 11, 45, 120, 999)] == [
        1,
        1,
        5,
        10,
        20,
        50,
        200,
        1000,
    ]

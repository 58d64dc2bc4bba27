"""archive.article_refine's guards: what must never be put back, what must never be cut."""

from __future__ import annotations

from archive.article_refine import MAX_BLOCKS, refine
from archive.boilerplate import without_server_errors

PARAGRAPHS = [f"Paragraph {n} of the article tells its readers a great deal about the river."
              for n in range(1, 4)]


def _page(before: str = "", inside: str = "") -> str:
    body = "".join(f"<p>{p}</p>" for p in PARAGRAPHS)
    return (f"<html><body><main>{before}<div class='article-body'>{body}{inside}</div>"
            "</main></body></html>")


def test_a_single_lead_before_the_article_is_put_back_in_front():
    markup = _page("<p class='lead'>The lead says in one sentence what the article is about.</p>")
    text = refine("\n".join(PARAGRAPHS), markup)
    assert text.splitlines()[0] == "The lead says in one sentence what the article is about."
    assert text.splitlines()[1:] == PARAGRAPHS


def test_a_list_of_teasers_is_not_a_lead():
    teasers = "".join(f"<div class='teaser'><p>Another story number {n} you may want to read "
                      "today.</p></div>" for n in range(3))
    text = refine("\n".join(PARAGRAPHS), _page(teasers))
    assert text.splitlines() == PARAGRAPHS


def test_a_caption_is_not_a_lead():
    figure = ("<figure class='intro'><figcaption>A photograph of the river at dawn, taken by "
              "a reader.</figcaption></figure>")
    assert refine("\n".join(PARAGRAPHS), _page(figure)).splitlines() == PARAGRAPHS


def test_chrome_in_the_column_is_cut_but_not_the_same_words_in_the_article():
    # (words no boilerplate phrase names: this is the judgement by the box's class alone)
    box = "<div class='newsletter-box'><p>The river desk, every Friday</p></div>"
    text = "\n".join([*PARAGRAPHS, "The river desk, every Friday"])
    assert refine(text, _page(inside=box)).splitlines() == PARAGRAPHS
    quoted = box + "<p>The river desk, every Friday</p>"  # the article's own line, same words
    assert refine(text, _page(inside=quoted)).splitlines()[-1] == "The river desk, every Friday"


def test_no_paragraph_found_leaves_the_text_as_it_is():
    assert refine("Something else entirely", _page()) == "Something else entirely"
    assert refine("Short", "") == "Short"


def test_a_lead_under_a_has_ads_wrapper_is_still_a_lead():
    # "o-section--has-ads" says the section may hold ads, not that it is one
    lead = ("<section class='o-section--has-ads'><h2 class='article-head__subtitle'>A subtitle "
            "that says what the article is about.</h2></section>")
    text = refine("\n".join(PARAGRAPHS), _page(lead))
    assert text.splitlines()[0] == "A subtitle that says what the article is about."


def test_the_site_banner_is_no_standfirst():
    banner = ("<header><h1>The River Gazette</h1><p>News from up and down the river since "
              "1851.</p><nav><a href='/'>Home</a></nav></header>")
    markup = _page().replace("<body>", f"<body>{banner}")
    assert refine("\n".join(PARAGRAPHS), markup).splitlines() == PARAGRAPHS


def test_a_page_past_the_block_cap_is_left_as_trafilatura_made_it():
    box = "<div class='newsletter-box'><p>Sign up for our newsletter</p></div>"
    filler = "<p>x</p>" * MAX_BLOCKS
    text = "\n".join([*PARAGRAPHS, "Sign up for our newsletter"])
    assert refine(text, _page(inside=box + filler)) == text
    assert refine(text, _page(inside=box)).splitlines() == PARAGRAPHS


def test_a_deep_page_is_refined_in_one_pass():
    # 240 levels (archive.text lets 256 through) over thousands of paragraphs: every walk up
    # stops at what an earlier one saw, so this takes well under a second, not minutes
    deep = 240
    body = "".join(f"<p>{p}</p>" for p in PARAGRAPHS) * 3000
    box = "<div class='author-box'><p>About the author of this article and the river.</p></div>"
    markup = ("<html><body>" + "<div>" * deep + body + box + "</div>" * deep + "</body></html>")
    text = "\n".join([*PARAGRAPHS * 3000, "About the author of this article and the river."])
    assert refine(text, markup).splitlines() == PARAGRAPHS * 3000


# --- boilerplate lines (archive.boilerplate) ------------------------------------------------

def test_a_short_paragraph_with_figures_at_the_end_stays_even_if_it_sounds_like_a_plea():
    # a forger gains from a dropped figure: a genuine screenshot of it would look "absent"
    closing = "The newsletter now reaches 12,400 subscribers, up 8 % on 2023."
    page = _page(inside=f"<p>{closing}</p><p>Subscribe to our newsletter</p>")
    text = refine("\n".join([*PARAGRAPHS, closing, "Subscribe to our newsletter"]), page)
    assert text.splitlines() == [*PARAGRAPHS, closing]


def test_a_plea_inside_the_article_is_kept():
    # only the edges are judged by what a line says about subscribing
    middle = "Readers who subscribe get the river report."
    body = PARAGRAPHS[0], middle, *PARAGRAPHS[1:]
    markup = ("<html><body><main><div class='article-body'>"
              + "".join(f"<p>{p}</p>" for p in body) + "</div></main></body></html>")
    assert refine("\n".join(body), markup).splitlines() == list(body)


def test_a_label_takes_the_links_under_it_but_not_the_next_paragraph():
    related = ("<p>Read also:</p><p><a href='/a'>Another story about a lake</a></p>"
               "<p><a href='/b'>And one about a mountain</a></p>")
    after = "The river's story goes on after the links, as the article does."
    page = _page(inside=related + f"<p>{after}</p>")
    text = refine("\n".join([*PARAGRAPHS, "Read also:", "Another story about a lake",
                             "And one about a mountain", after]), page)
    assert text.splitlines() == [*PARAGRAPHS, after]


def test_a_paragraph_that_starts_like_a_label_is_kept():
    line = ("Read more about the river in the report of 2021, which counted 3,000 fish "
            "over the year and found the water cleaner than in any year before, in every "
            "stretch from the source to the sea.")
    page = _page(inside=f"<p>{line}</p>")
    assert refine("\n".join([*PARAGRAPHS, line]), page).splitlines()[-1] == line


def test_a_label_with_a_few_words_and_the_tags_under_it_are_left_out():
    tail = ("<p>More stories from the river desk</p><p>Tags:</p>"
            "<p><a href='/t/river'>River</a> <a href='/t/fish'>Fish</a></p>")
    text = refine("\n".join([*PARAGRAPHS, "More stories from the river desk", "Tags:",
                             "River Fish"]), _page(inside=tail))
    assert text.splitlines() == PARAGRAPHS


# --- the server's error output (archive.boilerplate.without_server_errors) -----------------

PHP_WARNING = ("<br />\n<b>Warning</b>:  Use of undefined constant comments - assumed "
               "'comments' in <b>/srv/www/wp-content/plugins/recent.php</b> on line "
               "<b>928</b><br />\n")


def test_phps_error_output_is_cut_from_the_markup():
    markup = f"<ul>{PHP_WARNING * 3}<li>A comment</li></ul>"
    breaks = "<br />\n<br />\n"  # PHP's own line breaks around each message stay
    assert without_server_errors(markup) == f"<ul>{breaks * 3}<li>A comment</li></ul>"
    for kind in ("Notice", "Deprecated", "Strict Standards", "Fatal error"):
        assert without_server_errors(PHP_WARNING.replace("Warning", kind)) == breaks


def test_a_warning_quoted_by_an_article_stays():
    # an article about PHP shows a warning escaped (or in <code>), never as the server's tags
    quoted = ("<p>It printed <code>&lt;b&gt;Warning&lt;/b&gt;: Division by zero in "
              "&lt;b&gt;/x.php&lt;/b&gt; on line &lt;b&gt;3&lt;/b&gt;</code>.</p>")
    assert without_server_errors(quoted) == quoted
    plain = "<p><b>Warning</b>: the river rises in <b>March</b>, so plan ahead.</p>"
    assert without_server_errors(plain) == plain
    # a run longer than any real message is no message: the text around it stays
    long = f"<b>Warning</b>: {'x' * 3000} in <b>/a.php</b> on line <b>1</b>"
    assert without_server_errors(long) == long



# --- the article's first paragraph above the body ------------------------------------------

FIRST = "The river rose by two metres overnight, and the town's old bridge is closed."


def _article_page(above: str) -> str:
    body = "".join(f"<p>{p}</p>" for p in PARAGRAPHS)
    return (f"<html><body><main><article><h1>River</h1>{above}<div class='body'>{body}</div>"
            "</article></main></body></html>")


def test_a_paragraph_just_above_the_body_in_the_same_article_is_put_back_first():
    text = refine("\n".join(PARAGRAPHS),
                  _article_page(f"<div><span>By A. Reporter</span><p><b>{FIRST}</b></p></div>"))
    assert text.splitlines() == [FIRST, *PARAGRAPHS]


def test_a_paragraph_outside_the_article_or_far_above_it_is_not():
    body = "".join(f"<p>{p}</p>" for p in PARAGRAPHS)
    teaser = f"<article><p>{FIRST}</p></article>"  # a card of another article above this one
    markup = f"<html><body><main>{teaser}<article><div>{body}</div></article></main></body></html>"
    assert refine("\n".join(PARAGRAPHS), markup).splitlines() == PARAGRAPHS
    far = f"<p>{FIRST}</p><ul>{'<li>a label of the page</li>' * 6}</ul>"
    assert refine("\n".join(PARAGRAPHS), _article_page(far)).splitlines() == PARAGRAPHS


def test_a_disclosure_or_a_linked_paragraph_above_the_body_is_not():
    disclosure = ("This post and the photos within it may contain affiliate links. If you "
                  "purchase something through the links, I may receive a small commission.")
    assert refine("\n".join(PARAGRAPHS),
                  _article_page(f"<p>{disclosure}</p>")).splitlines() == PARAGRAPHS
    linked = f"<p><a href='/other-story'>{FIRST}</a></p>"
    assert refine("\n".join(PARAGRAPHS), _article_page(linked)).splitlines() == PARAGRAPHS
    shared = f"<div class='share-box'><p>{FIRST}</p></div>"
    assert refine("\n".join(PARAGRAPHS), _article_page(shared)).splitlines() == PARAGRAPHS



# --- the standfirst under the headline, outside any <header> ----------------------------------

STANDFIRST = "The town's old bridge is closed after the river rose by two metres overnight."


def _headline_page(title: str, headline: str, under: str) -> str:
    body = "".join(f"<p>{p}</p>" for p in PARAGRAPHS)
    return (f"<html><head><title>{title}</title></head><body><main><div class='top'>"
            f"{headline}<p>12 May 2024</p>{under}</div><div class='body'>{body}</div>"
            "</main></body></html>")


def test_the_first_paragraph_under_the_pages_headline_is_put_back():
    markup = _headline_page("Bridge closed as river rises | The Town Paper",
                            "<h1>Bridge closed as river rises</h1>", f"<p>{STANDFIRST}</p>")
    assert refine("\n".join(PARAGRAPHS), markup).splitlines() == [STANDFIRST, *PARAGRAPHS]


def test_no_standfirst_under_a_site_or_section_headline_nor_a_byline():
    # a site's tagline under its logo <h1>, a section's intro under "Latest news": the page's
    # <title> names neither (or the logo is a link)
    for headline in ("<h1>Latest news</h1>", "<h1><a href='/'>The Town Paper</a></h1>"):
        markup = _headline_page("Bridge closed as river rises | The Town Paper", headline,
                                f"<p>{STANDFIRST}</p>")
        assert refine("\n".join(PARAGRAPHS), markup).splitlines() == PARAGRAPHS
    byline = f"<p>{STANDFIRST} <time datetime='2024-05-12'>12 May</time></p>"
    markup = _headline_page("Bridge closed as river rises", "<h1>Bridge closed as river rises</h1>",
                            byline)
    assert refine("\n".join(PARAGRAPHS), markup).splitlines() == PARAGRAPHS



def test_the_articles_header_in_a_box_named_like_chrome_is_kept():
    header = ("<div class='widget-hero'><header><h1>River</h1>"
              f"<p>{STANDFIRST}</p></header></div>")
    widget = ("<div class='widget'><p>A sidebar widget's line, long enough for a paragraph."
              "</p></div>")
    body = "".join(f"<p>{p}</p>" for p in PARAGRAPHS)
    markup = (f"<html><body><main><article>{header}<div class='body'>{body}{widget}</div>"
              "</article></main></body></html>")
    lines = [STANDFIRST, *PARAGRAPHS, "A sidebar widget's line, long enough for a paragraph."]
    assert refine("\n".join(lines), markup).splitlines() == [STANDFIRST, *PARAGRAPHS]


def test_a_section_named_after_its_heading_is_judged_by_more_than_that_name():
    # a section id made of its heading ("sharing-with-a-single-developer") names no share
    # bar; a short name that is its heading ("comments" over "Comments") is still chrome,
    # and so is a section whose class names chrome beside such an id
    def page(attributes: str, heading: str) -> str:
        section = (f"<div {attributes}><h2>{heading}</h2><p>{PARAGRAPHS[2]}</p></div>")
        return ("<html><body><main><div class='article-body'>"
                f"<p>{PARAGRAPHS[0]}</p><p>{PARAGRAPHS[1]}</p>{section}</div></main></body></html>")

    text = "\n".join([PARAGRAPHS[0], PARAGRAPHS[1], "Sharing with a single developer¶",
                      PARAGRAPHS[2]])
    kept = refine(text, page("id='sharing-with-a-single-developer'",
                             "Sharing with a single developer¶"))
    assert kept.splitlines() == text.splitlines()
    numbered = refine(text, page("id='sharing-with-a-single-developer-2'",
                                 "Sharing with a single developer¶"))
    assert numbered.splitlines() == text.splitlines()
    comments = "\n".join([PARAGRAPHS[0], PARAGRAPHS[1], "Comments", PARAGRAPHS[2]])
    assert refine(comments, page("id='comments'", "Comments")).splitlines() == PARAGRAPHS[:2]
    both = refine(text, page("id='sharing-with-a-single-developer' class='share-box'",
                             "Sharing with a single developer¶"))
    assert both.splitlines() == PARAGRAPHS[:2]


def test_a_line_of_an_article_block_found_over_lines_is_not_chrome_that_says_the_same():
    # iass-potsdam.de: <h1><span class="visuallyhidden">Headline:</span> Energiewende und
    # gesellschaftlicher Wandel</h1> comes out as two lines, and the same words in a box of
    # related links made the headline's line chrome; a paragraph broken by <br><br> (an
    # empty line in the text) was not found at all, and put back a second time as a lead
    headline = "Energiewende und gesellschaftlicher Wandel"
    markup = ("<html><body><main><div class='article-body'>"
              f"<h1><span class='visuallyhidden'>Headline:</span> {headline}</h1>"
              + "".join(f"<p>{p}</p>" for p in PARAGRAPHS)
              + f"<div class='related'><p>{headline}</p></div></div></main></body></html>")
    text = "\n".join(["Headline:", "", headline, *PARAGRAPHS])
    assert refine(text, markup).splitlines() == text.splitlines()
    lead = ("It is easier than ever to make the river yours and make it work the way you do."
            "\n<br>\n<br>No other river gives you so much water.")
    markup = _page(f"<p class='lead'>{lead}</p>")
    text = "\n".join(["It is easier than ever to make the river yours and make it work the way",
                      "you do.", "", "No other river gives you so much water.", *PARAGRAPHS])
    assert refine(text, markup).count("It is easier than ever") == 1


def _hero_page(between: str) -> str:
    """The headline in the hero's box, a row below it with the date and ``between``."""
    body = "".join(f"<p>{p}</p>" for p in PARAGRAPHS)
    return ("<html><head><title>Bridge closed as river rises</title></head><body><section>"
            "<div class='container'><div class='row'><div class='hero'><div class='title'>"
            "<h1>Bridge closed as river rises</h1></div></div></div>"
            f"<div class='row'><div class='col'><p>12 May 2024</p>{between}</div></div></div>"
            f"</section><section><div class='body'>{body}</div></section></body></html>")


def test_a_standfirst_in_the_row_under_the_hero_is_put_back():
    markup = _hero_page(f"<div class='text'><p>{STANDFIRST}</p></div>")
    assert refine("\n".join(PARAGRAPHS), markup).splitlines() == [STANDFIRST, *PARAGRAPHS]


def test_a_caption_under_the_hero_is_no_standfirst():
    # a paragraph under a picture, or around one, is its caption (bund.net, soy502.com)
    for between in (f"<img src='river.jpg'><p>{STANDFIRST}</p>",
                    f"<p><img src='river.jpg'><span>{STANDFIRST}</span></p>"):
        assert refine("\n".join(PARAGRAPHS), _hero_page(between)).splitlines() == PARAGRAPHS


def test_a_css_utilitys_overflow_hidden_hides_nothing():
    lead = "<div class='overflow-hidden'><p class='lead'>" + STANDFIRST + "</p></div>"
    assert refine("\n".join(PARAGRAPHS), _page(lead)).splitlines() == [STANDFIRST, *PARAGRAPHS]


def test_a_caption_type_size_on_a_heading_is_no_caption():
    heading = f"<h2 class='teaser caption-s5'>{STANDFIRST}</h2>"
    assert refine("\n".join(PARAGRAPHS), _page(heading)).splitlines() == [STANDFIRST, *PARAGRAPHS]
    caption = f"<p class='teaser caption-s5'>{STANDFIRST}</p>"  # on a paragraph it still is
    assert refine("\n".join(PARAGRAPHS), _page(caption)).splitlines() == PARAGRAPHS



def test_only_a_schema_org_description_is_a_lead_in_a_box_named_meta():
    described = (f"<div class='recipe-meta'><div itemprop='description'><p>{STANDFIRST}</p>"
                 "</div></div>")
    assert refine("\n".join(PARAGRAPHS), _page(described)).splitlines() == [STANDFIRST,
                                                                            *PARAGRAPHS]
    named = f"<div class='post-meta'><p class='intro'>{STANDFIRST}</p></div>"
    assert refine("\n".join(PARAGRAPHS), _page(named)).splitlines() == PARAGRAPHS

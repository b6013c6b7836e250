from jobs.sentiment.tickers import STOP_LIST, TickerExtractor, company_short_name, default_extractor, text_about


def test_cashtags_bare_tickers_and_names():
    extract = default_extractor().extract
    assert extract("$TSLA to the moon") == ["TSLA"]
    assert extract("NVDA and Apple both up; Bank of America down") == ["NVDA", "AAPL", "BAC"]
    assert extract("Exxon Mobil and Ford, then $amd") == ["XOM", "F", "AMD"]
    assert extract("Microsoft's cloud grew") == ["MSFT"]


def test_stop_list_words_are_not_tickers_unless_cashtagged():
    extract = default_extractor().extract
    assert extract("A lot of DD on IT and ALL of it, IMO YOLO, CEO said EPS beat, USA") == []
    assert extract("$ALL and $IT reported") == ["ALL", "IT"]
    assert {"A", "IT", "ALL", "DD", "YOLO", "CEO", "EPS", "USA", "IMO"} <= STOP_LIST


def test_unknown_bare_tickers_currency_cashtags_and_shouting_are_ignored():
    extract = default_extractor().extract
    assert extract("XYZQ is not a listed symbol") == []
    assert extract("priced in $USD, up $100") == []
    assert extract("THIS IS THE BEST STOCK EVER BUY NOW GE") == []  # capitals everywhere: bare tickers mean nothing


def test_symbol_table_names_and_several_tickers_in_order():
    extractor = TickerExtractor(
        [{"ticker": "ZZZ", "name": "Zeta Zulu Holdings Inc."}, {"ticker": "QQ", "name": "Target"}], aliases={}
    )
    assert extractor.extract("Zeta Zulu beat, QQ too, and zzz") == ["ZZZ", "QQ"]
    assert extractor.extract("my price Target is high") == []  # single-word names are too often plain English
    assert company_short_name("Bank of America Corp") == "Bank of America"


def test_text_about_keeps_the_sentences_that_name_the_ticker():
    extractor = default_extractor()
    text = "I bought AAPL at the top, terrible. MSFT keeps ripping though."
    assert text_about(text, "MSFT", extractor) == "MSFT keeps ripping though."
    assert text_about("Only AAPL here", "AAPL", extractor) == "Only AAPL here"

import pytest

from orderloop.documents.sscc import gs1_check_digit, is_valid_sscc, sscc, sscc_for_key


def test_gs1_examples() -> None:
    # GS1 General Specifications' SSCC example: (00) 1 0614141 123456789 7
    assert sscc("0614141", 123456789, extension_digit=1) == "106141411234567897"
    assert gs1_check_digit("10614141123456789") == 7
    assert is_valid_sscc("106141411234567897")
    assert not is_valid_sscc("106141411234567898")
    assert not is_valid_sscc("10614141123456789")


def test_stable_per_key_and_distinct_between_keys() -> None:
    a = sscc_for_key("0614141", "order/shopify/1001/sr1/p1")
    assert a == sscc_for_key("0614141", "order/shopify/1001/sr1/p1")
    assert a != sscc_for_key("0614141", "order/shopify/1001/sr1/p2")
    assert is_valid_sscc(a) and a.startswith("00614141")


@pytest.mark.parametrize(
    ("prefix", "serial", "extension"),
    [("12345", 1, 0), ("0614141", 10**9, 0), ("0614141", 1, 10), ("06141x1", 1, 0)],
)
def test_bad_input_is_refused(prefix: str, serial: int, extension: int) -> None:
    with pytest.raises(ValueError):
        sscc(prefix, serial, extension)

import io

import pytest
from django.test import override_settings

KPI_HEADER = "account,kpi,period,value\n"
SALES_HEADER = "date,user_id,product_name,quantity,unit_price,total_amount,region,account\n"


def named(content: str | bytes, name: str) -> io.BytesIO:
    data = content.encode() if isinstance(content, str) else content
    handle = io.BytesIO(data)
    handle.name = name
    return handle


@pytest.fixture(autouse=True)
def media_root(tmp_path):
    """Raw files of each test land in its own folder."""
    with override_settings(MEDIA_ROOT=str(tmp_path / "media")):
        yield tmp_path / "media"

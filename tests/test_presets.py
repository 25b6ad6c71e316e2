"""Import presets (``preset: shopify_orders``), the value-level settings they use, and ``identity``.

Each preset is checked on a small export written here with the tool's own headers and
formats (Shopify's one row per line item with order fields on the first line and times with
an offset, Zendesk's Good/Bad satisfaction, ...); every figure is computed by hand below.
"""

from __future__ import annotations

import json

import pytest

import engage_kit as ek
from engage_kit import metrics as M
from engage_kit import presets
from engage_kit.config import parse_config
from engage_kit.errors import ConfigError, DataError

from .helpers import assert_clear_error, run, write

SHOPIFY_HEADER = (
    "Name,Email,Financial Status,Paid at,Fulfillment Status,Accepts Marketing,Currency,Subtotal,Shipping,Taxes,Total,"
    "Discount Code,Discount Amount,Created at,Lineitem quantity,Lineitem name,Lineitem price,Lineitem sku,"
    "Billing Name,Refunded Amount,Id,Source\n"
)
SHOPIFY_LINES = [
    # two line items; discount 3.00 and shipping 4.99 on the first line only: 2×10 − 3 + 4.99 + 1×5 = 26.99
    "#1001,ann@example.com,paid,2024-01-05 10:00:00 -0500,fulfilled,yes,USD,22.00,4.99,0.00,26.99,WELCOME3,3.00,"
    "2024-01-05 10:00:00 -0500,2,Mug,10.00,MUG-1,Ann Lee,0.00,5001,web",
    "#1001,ann@example.com,,,,,,,,,,,,2024-01-05 10:00:00 -0500,1,Coaster,5.00,CST-1,,,,web",
    # refunded in full: a cancelled order
    "#1002,bob@example.com,refunded,2024-01-10 09:00:00 -0500,fulfilled,no,USD,30.00,0.00,0.00,30.00,,0.00,"
    "2024-01-10 09:00:00 -0500,1,Teapot,30.00,TEA-1,Bob Roe,30.00,5002,web",
    # partly refunded: 3×8 + 5 shipping = 29.00, less the refunded 8.00 = 21.00
    "#1003,ann@example.com,partially_refunded,2024-02-01 12:00:00 -0500,fulfilled,yes,USD,24.00,5.00,0.00,29.00,,0.00,"
    "2024-02-01 12:00:00 -0500,3,Tea 100g,8.00,TEA-100,Ann Lee,8.00,5003,web",
    # no email: a guest order of 12.00
    "#1004,,paid,2024-02-03 08:00:00 -0500,fulfilled,no,USD,12.00,0.00,0.00,12.00,,0.00,"
    "2024-02-03 08:00:00 -0500,1,Spoon,12.00,SPN-1,,0.00,5004,pos",
    # voided, two lines (the status on the first only): the whole order of 60.00 cancelled
    "#1005,cara@example.com,voided,,unfulfilled,no,USD,60.00,0.00,0.00,60.00,,0.00,"
    "2024-02-10 15:00:00 -0500,1,Kettle,50.00,KET-1,Cara Diaz,0.00,5005,web",
    "#1005,cara@example.com,,,,,,,,,,,,2024-02-10 15:00:00 -0500,1,Filter,10.00,FIL-1,,,,web",
    "#1006,bob@example.com,paid,2024-02-15 11:00:00 -0500,fulfilled,no,USD,30.00,0.00,0.00,30.00,,0.00,"
    "2024-02-15 11:00:00 -0500,2,Cup,15.00,CUP-1,Bob Roe,0.00,5006,web",
    "#1007,cara@example.com,paid,2024-02-20 16:00:00 -0500,fulfilled,no,USD,40.00,5.00,0.00,45.00,,0.00,"
    "2024-02-20 16:00:00 -0500,1,Grinder,40.00,GRN-1,Cara Diaz,0.00,5007,web",
]
SHOPIFY_PURCHASES = {"#1001": 26.99, "#1003": 21.00, "#1006": 30.00, "#1007": 45.00}
SHOPIFY_GROSS = 26.99 + 30.00 + 29.00 + 60.00 + 30.00 + 45.00  # customers' purchase orders before returns
SHOPIFY_RETURNED = 30.00 + 8.00 + 60.00


def _shopify(tmp_path, extra: str = "", lines: list[str] | None = None):
    body = SHOPIFY_HEADER + "\n".join(SHOPIFY_LINES if lines is None else lines) + "\n"
    return write(tmp_path, {"orders_export.csv": body},
                 f"currency: USD\ntables:\n  transactions:\n    preset: shopify_orders\n    path: orders_export.csv\n{extra}")


def test_shopify_orders_preset(tmp_path, capsys):
    cfg = _shopify(tmp_path)
    code, text = run(["validate", str(cfg)], capsys)
    assert code == 0, text
    assert "2 orders are cancelled by tables.transactions.returns.cancel_when (90.00)" in text
    assert "1 refunds from tables.transactions.returns.refund_column (8.00)" in text
    assert "1 rows (1 orders) have no customer_id" in text
    ds = ek.open_dataset(cfg)
    purchases = ds.purchases.execute().set_index("order_id")["amount"].round(2).to_dict()
    assert purchases == pytest.approx(SHOPIFY_PURCHASES)
    tx = ds.to_pandas("transactions")
    assert tx.amount.sum() == pytest.approx(sum(SHOPIFY_PURCHASES.values()))  # cancelled orders net to 0
    assert set(tx.customer_id) == {"ann@example.com", "bob@example.com", "cara@example.com"}
    assert str(tx.timestamp.min()) == "2024-01-05 15:00:00"  # 10:00 at -0500 is 15:00 UTC
    assert set(tx.channel) == {"web"} and "MUG-1" in set(tx.product_id)
    head = M.headline(ds.tables, period="M", as_of=ds.as_of)
    aov = head["revenue.average_order_value"]
    assert aov.counts == pytest.approx({"revenue": sum(SHOPIFY_PURCHASES.values()) + 12.00, "orders": 5})
    # returned orders: #1002, #1003, #1005 of the six purchase orders with a customer
    assert head["returns.order_rate"].counts == {"returned_orders": 3, "orders": 6}
    assert head["returns.value_rate"].value == pytest.approx(SHOPIFY_RETURNED / SHOPIFY_GROSS)
    assert head["returns.customer_rate"].counts == {"returning_customers": 3, "customers": 3}


def test_a_file_that_does_not_fit_its_preset(tmp_path, capsys):
    body = SHOPIFY_HEADER.replace("Lineitem price", "Lineitem Preis").replace("Refunded Amount", "Refund")
    cfg = write(tmp_path, {"o.csv": body + "\n".join(SHOPIFY_LINES) + "\n"},
                "tables:\n  transactions: {preset: shopify_orders, path: o.csv}\n")
    code, text = run(["validate", str(cfg)], capsys)
    assert_clear_error(code, text, "does not fit preset shopify_orders (Shopify orders export)",
                       "'Lineitem price' (closest: 'Lineitem Preis')", "'Refunded Amount'", "o.csv", "Lineitem sku")


def test_a_file_without_a_preset_gets_one_suggested(tmp_path, capsys):
    cfg = write(tmp_path, {"o.csv": SHOPIFY_HEADER + "\n".join(SHOPIFY_LINES) + "\n"}, "tables:\n  transactions: {path: o.csv}\n")
    code, text = run(["validate", str(cfg)], capsys)
    assert_clear_error(code, text, "this looks like a Shopify orders export: add `preset: shopify_orders`")


def test_user_keys_override_the_preset(tmp_path):
    # the user's own amount (the order Total on the first line) replaces the preset's derive
    cfg = _shopify(tmp_path, "    columns: {amount: Total}\n    derive: {}\n    read: {duplicates: keep}\n")
    config = ek.resolve_config(cfg)
    t = config.tables["transactions"]
    assert t.columns["amount"] == "Total" and "amount" not in t.derive
    assert t.read == {"date_format": "%Y-%m-%d %H:%M:%S %z", "duplicates": "keep"}
    assert t.missing_customer_id == "guest" and t.preset == "shopify_orders"
    raw = {"tables": {"transactions": {"preset": "shopify_order", "path": "x.csv"}}}
    with pytest.raises(ConfigError, match="did you mean 'shopify_orders'"):
        parse_config(raw)


MAILCHIMP = """\
Email Address,Campaign ID,Campaign Title,Action,Timestamp,URL
ann@example.com,c1,January news,sent,2024-01-08T09:00:00+00:00,
ann@example.com,c1,January news,open,2024-01-08T10:00:00+00:00,
ann@example.com,c1,January news,open,2024-01-09T10:00:00+00:00,
ann@example.com,c1,January news,click,2024-01-08T10:01:00+00:00,https://shop.example.com
bob@example.com,c1,January news,sent,2024-01-08T09:00:00+00:00,
bob@example.com,c1,January news,bounce,2024-01-08T09:00:05+00:00,
cara@example.com,c1,January news,sent,2024-01-08T09:00:00+00:00,
cara@example.com,c1,January news,opened,2024-01-08T12:00:00+00:00,
cara@example.com,c1,January news,unsub,2024-01-08T12:05:00+00:00,
dan@example.com,c1,January news,sent,2024-01-08T09:00:00+00:00,
"""


def _metric(fn, table, **kw):
    return fn(table, **kw)


def test_mailchimp_activity_preset(tmp_path, capsys):
    cfg = write(tmp_path, {"orders.csv": SHOPIFY_HEADER + "\n".join(SHOPIFY_LINES) + "\n", "activity.csv": MAILCHIMP},
                "as_of: 2024-02-29\ntables:\n  transactions: {preset: shopify_orders, path: orders.csv}\n"
                "  touches: {preset: mailchimp_activity, path: activity.csv}\n")
    code, text = run(["validate", str(cfg)], capsys)
    assert code == 0, text
    ds = ek.open_dataset(cfg)
    touches = ds.to_pandas("touches")
    assert set(touches.channel) == {"email"}
    assert sorted(set(touches.event)) == ["bounce", "click", "open", "sent", "unsubscribe"]
    # four messages sent, one bounced: three delivered; ann and cara opened, ann clicked, cara unsubscribed
    assert M.email.open_rate(ds["touches"]).counts == {"opened": 2, "delivered": 3}
    assert M.email.click_rate(ds["touches"]).counts == {"clicked": 1, "delivered": 3}
    assert M.email.bounce_rate(ds["touches"]).counts == {"bounced": 1, "sent": 4}
    assert M.email.unsubscribe_rate(ds["touches"]).value == pytest.approx(1 / 3)


ZENDESK = """\
Id,Requester,Requester email,Subject,Status,Priority,Via,Created at,Updated at,Solved at,Replies,Satisfaction Score,Group
101,Ann Lee,ann@example.com,Where is my order?,Closed,Normal,Email,2024-01-06 09:00,2024-01-07 10:00,2024-01-06 11:00,1,Good,Support
102,Bob Roe,bob@example.com,Broken teapot,Solved,High,Web form,2024-01-11 08:00,2024-01-12 09:00,2024-01-12 09:00,3,Bad,Support
103,Cara Diaz,cara@example.com,Refund please,Solved,Normal,Chat,2024-02-11 14:00,2024-02-11 15:00,2024-02-11 14:30,1,Offered,Support
104,Ann Lee,ANN@example.com,Discount code,Solved,Low,Phone call (incoming),2024-02-02 10:00,2024-02-02 10:20,2024-02-02 10:20,1,Good,Support
105,Dan Poe,dan@example.com,Question,Open,Normal,Email,2024-02-25 10:00,2024-02-25 10:00,,0,Unoffered,Support
"""


def test_zendesk_tickets_preset(tmp_path, capsys):
    cfg = write(tmp_path, {"orders.csv": SHOPIFY_HEADER + "\n".join(SHOPIFY_LINES) + "\n", "tickets.csv": ZENDESK},
                "as_of: 2024-02-29\ntables:\n  transactions: {preset: shopify_orders, path: orders.csv}\n"
                "  tickets: {preset: zendesk_tickets, path: tickets.csv}\n"
                "  surveys: {preset: zendesk_tickets, path: tickets.csv}\n")
    code, text = run(["validate", str(cfg)], capsys)
    assert code == 0, text
    assert "2 rows are left out by tables.surveys.exclude" in text
    ds = ek.open_dataset(cfg)
    tickets = ds.to_pandas("tickets").set_index("ticket_id")
    assert tickets.channel.to_dict() == {"101": "email", "102": "web", "103": "chat", "104": "phone", "105": "email"}
    # four solved tickets, three of them with one reply
    assert M.service.first_contact_resolution(ds["tickets"]).value == pytest.approx(3 / 4)
    surveys = ds.to_pandas("surveys")
    assert sorted(surveys.score) == [1, 5, 5] and set(surveys.kind) == {"csat"}
    assert M.satisfaction.csat(ds["surveys"]).value == pytest.approx(2 / 3)  # Good, Bad, Good


HUBSPOT = """\
Record ID,First Name,Last Name,Email,Phone Number,Create Date,Lifecycle Stage,Original Source,Contact owner
9001,Ann,Lee,ann@example.com,+1 555 0100,2023-12-01 10:00,Customer,Organic Search,Jo
9002,Bob,Roe,bob@example.com,,2023-12-15 11:00,Customer,Paid Social,Jo
9003,Cara,Diaz,cara@example.com,,2024-01-20 12:00,Evangelist,Email Marketing,Jo
9004,Eve,Moss,eve@example.com,,2024-02-01 09:00,Lead,Organic Search,Jo
9005,Finn,Holt,finn@example.com,,2024-02-03 09:00,Marketing Qualified Lead,Direct Traffic,Jo
9006,Gus,Ng,gus@example.com,,2024-02-05 09:00,Subscriber,Referrals,Jo
"""


def test_hubspot_contacts_preset(tmp_path, capsys):
    cfg = write(tmp_path, {"orders.csv": SHOPIFY_HEADER + "\n".join(SHOPIFY_LINES) + "\n", "contacts.csv": HUBSPOT},
                "as_of: 2024-02-29\ntables:\n  transactions: {preset: shopify_orders, path: orders.csv}\n"
                "  customers: {preset: hubspot_contacts, path: contacts.csv}\n"
                "  leads: {preset: hubspot_contacts, path: contacts.csv}\n")
    code, text = run(["validate", str(cfg)], capsys)
    assert code == 0, text
    assert "3 rows are left out by tables.customers.exclude" in text
    assert "3 rows are left out by tables.leads.exclude" in text  # Ann, Bob (Customer), Cara (Evangelist)
    ds = ek.open_dataset(cfg)
    customers = ds.to_pandas("customers").set_index("customer_id")
    assert sorted(customers.index) == ["ann@example.com", "bob@example.com", "cara@example.com"]
    assert customers.acquisition_channel.to_dict()["bob@example.com"] == "Paid Social"
    # names, phone numbers and owners are not attributes; the lifecycle stage is
    assert "lifecycle_stage" in ds.customer_attributes()
    assert not {"First Name", "Last Name", "Phone Number", "Contact owner", "Email"} & set(customers.columns)
    # the contacts before the Customer stage are the leads: Eve (Lead), Finn (MQL), Gus (Subscriber)
    leads = ds.to_pandas("leads").set_index("lead_id")
    assert leads.source.to_dict() == {"9004": "Organic Search", "9005": "Direct Traffic", "9006": "Referrals"}
    assert leads.email.to_dict()["9005"] == "finn@example.com"
    assert str(leads.created_at.min()) == "2024-02-01 09:00:00"
    assert "leads: expects Record ID, Create Date, Original Source, Lifecycle Stage" in presets.describe()


DELIGHTED = """\
Response ID,Email,Name,Score,Comment,Response timestamp,Permalink
r1,ann@example.com,Ann Lee,10,Love the tea,2024-01-20T10:00:00-08:00,https://delighted.com/r/r1
r2,bob@example.com,Bob Roe,3,Teapot broke,2024-01-21T10:00:00-08:00,https://delighted.com/r/r2
r3,cara@example.com,Cara Diaz,9,,2024-02-21T10:00:00-08:00,https://delighted.com/r/r3
r4,dan@example.com,Dan Poe,8,,2024-02-22T10:00:00-08:00,https://delighted.com/r/r4
r5,eve@example.com,Eve Moss,6,Slow shipping,2024-02-23T23:30:00-08:00,https://delighted.com/r/r5
"""


def test_delighted_nps_preset(tmp_path, capsys):
    cfg = write(tmp_path, {"orders.csv": SHOPIFY_HEADER + "\n".join(SHOPIFY_LINES) + "\n", "nps.csv": DELIGHTED},
                "as_of: 2024-02-29\ntables:\n  transactions: {preset: shopify_orders, path: orders.csv}\n"
                "  surveys: {preset: delighted_nps, path: nps.csv}\n")
    code, text = run(["validate", str(cfg)], capsys)
    assert code == 0, text
    ds = ek.open_dataset(cfg)
    surveys = ds.to_pandas("surveys")
    assert set(surveys.kind) == {"nps"} and len(surveys) == 5
    assert str(surveys.timestamp.max()) == "2024-02-24 07:30:00"  # 23:30 at -08:00, in UTC
    # promoters 10 and 9, detractors 3 and 6, a passive 8: 100 × (2 − 2) / 5 = 0
    assert M.satisfaction.nps(ds["surveys"]).value == pytest.approx(0.0)
    if "comment" in surveys.columns:
        assert "Love the tea" in set(surveys.comment)


WOOCOMMERCE = """\
Order Number,Order Status,Order Date,First Name (Billing),Last Name (Billing),Email (Billing),Order Shipping Amount,Order Refund Amount,Order Total Amount,SKU,Item #,Item Name,Quantity,Item Cost
2001,Completed,2024-01-05 10:00:00,Ann,Lee,ann@example.com,4.99,0,29.99,MUG-1,1,Mug,2,10.00
2001,Completed,2024-01-05 10:00:00,Ann,Lee,ann@example.com,4.99,0,29.99,CST-1,2,Coaster,1,5.00
2002,Refunded,2024-01-10 09:00:00,Bob,Roe,bob@example.com,0.00,30.00,30.00,TEA-1,1,Teapot,1,30.00
2003,Processing,2024-02-01 12:00:00,Ann,Lee,ann@example.com,0.00,0,24.00,TEA-100,1,Tea 100g,3,8.00
2004,Completed,2024-02-03 08:00:00,,,,0.00,0,12.00,SPN-1,1,Spoon,1,12.00
2005,Cancelled,2024-02-10 15:00:00,Cara,Diaz,cara@example.com,0.00,0,60.00,KET-1,1,Kettle,1,50.00
2005,Cancelled,2024-02-10 15:00:00,Cara,Diaz,cara@example.com,0.00,0,60.00,FIL-1,2,Filter,1,10.00
2006,Failed,2024-02-12 11:00:00,Cara,Diaz,cara@example.com,0.00,0,40.00,GRN-1,1,Grinder,1,40.00
2007,Completed,2024-02-20 16:00:00,Cara,Diaz,cara@example.com,5.00,0,45.00,GRN-1,1,Grinder,1,40.00
"""
# Quantity × Item Cost per line (shipping left out): 2001 = 2×10 + 5, 2003 = 3×8, 2007 = 40
WOO_PURCHASES = {"2001": 25.00, "2003": 24.00, "2007": 40.00}


def test_woocommerce_orders_preset(tmp_path, capsys):
    cfg = write(tmp_path, {"orders.csv": WOOCOMMERCE},
                "as_of: 2024-02-29\ntables:\n  transactions: {preset: woocommerce_orders, path: orders.csv}\n")
    code, text = run(["validate", str(cfg)], capsys)
    assert code == 0, text
    # 2002 (Refunded, 30.00) and 2005 (Cancelled, 50 + 10): cancelled orders; 2006 (Failed) left out
    assert "2 orders are cancelled by tables.transactions.returns.cancel_when (90.00)" in text
    assert "1 rows are left out by tables.transactions.exclude" in text
    assert "1 rows (1 orders) have no customer_id" in text
    ds = ek.open_dataset(cfg)
    purchases = ds.purchases.execute().set_index("order_id")["amount"].round(2).to_dict()
    assert purchases == pytest.approx(WOO_PURCHASES)
    tx = ds.to_pandas("transactions")
    assert tx.amount.sum() == pytest.approx(sum(WOO_PURCHASES.values()))
    assert "2006" not in set(tx.order_id) and "GRN-1" in set(tx.product_id)
    assert str(tx.timestamp.min()) == "2024-01-05 10:00:00"
    head = M.headline(ds.tables, period="M", as_of=ds.as_of)
    # the guest order 2004 of 12.00 counts in the order value
    assert head["revenue.average_order_value"].counts == pytest.approx({"revenue": 89.00 + 12.00, "orders": 4})
    # returned: 2002 and 2005 of the purchase orders 2001, 2002, 2003, 2005, 2007
    assert head["returns.order_rate"].counts == {"returned_orders": 2, "orders": 5}
    assert head["returns.value_rate"].value == pytest.approx(90.00 / (25 + 30 + 24 + 60 + 40))
    assert head["returns.customer_rate"].counts == {"returning_customers": 2, "customers": 3}  # bob, cara


STRIPE = """\
id,Description,Created date (UTC),Amount,Amount Refunded,Currency,Converted Amount,Fee,Captured,Status,Customer ID,Customer Email,Card ID
ch_3Oa1,Order 1,2024-01-05 15:00:00,26.99,0.00,usd,26.99,1.08,true,Paid,cus_A1,ann@example.com,card_1
ch_3Oa2,Order 2,2024-01-10 14:00:00,30.00,30.00,usd,30.00,1.17,true,Refunded,cus_B2,bob@example.com,card_2
ch_3Oa3,Order 3,2024-02-01 17:00:00,29.00,8.00,usd,29.00,1.14,true,Paid,cus_A1,ann@example.com,card_1
ch_3Oa4,Order 4,2024-02-03 13:00:00,12.00,0.00,usd,12.00,0.65,true,Paid,,,card_4
ch_3Oa5,Order 5,2024-02-05 10:00:00,45.00,0.00,usd,45.00,0.00,false,Uncaptured,cus_C3,cara@example.com,card_5
ch_3Oa6,Order 6,2024-02-06 10:00:00,60.00,0.00,usd,60.00,0.00,false,Failed,cus_C3,cara@example.com,card_5
ch_3Oa7,Order 7,2024-02-20 21:00:00,45.00,0.00,usd,45.00,1.61,true,Paid,cus_C3,cara@example.com,card_6
"""
# ch_3Oa2 refunded in full (a cancelled order); ch_3Oa3 29.00 less 8.00 refunded
STRIPE_PURCHASES = {"ch_3Oa1": 26.99, "ch_3Oa3": 21.00, "ch_3Oa7": 45.00}


def test_stripe_charges_preset(tmp_path, capsys):
    cfg = write(tmp_path, {"payments.csv": STRIPE},
                "as_of: 2024-02-29\ntables:\n  transactions: {preset: stripe_charges, path: payments.csv}\n")
    code, text = run(["validate", str(cfg)], capsys)
    assert code == 0, text
    assert "2 rows are left out by tables.transactions.exclude" in text  # the uncaptured and the failed charge
    assert "2 refunds from tables.transactions.returns.refund_column (38.00)" in text
    assert "1 rows (1 orders) have no customer_id" in text
    ds = ek.open_dataset(cfg)
    purchases = ds.purchases.execute().set_index("order_id")["amount"].round(2).to_dict()
    assert purchases == pytest.approx(STRIPE_PURCHASES)  # major units: 26.99 is 26.99
    tx = ds.to_pandas("transactions")
    assert tx.amount.sum() == pytest.approx(sum(STRIPE_PURCHASES.values()))  # 26.99 + 30 − 30 + 29 − 8 + 45
    assert str(tx.timestamp.min()) == "2024-01-05 15:00:00"
    head = M.headline(ds.tables, period="M", as_of=ds.as_of)
    assert head["revenue.average_order_value"].counts == pytest.approx({"revenue": 92.99 + 12.00, "orders": 4})
    assert head["returns.order_rate"].counts == {"returned_orders": 2, "orders": 4}
    assert head["returns.value_rate"].value == pytest.approx(38.00 / (26.99 + 30.00 + 29.00 + 45.00))
    assert head["returns.customer_rate"].counts == {"returning_customers": 2, "customers": 3}  # ann, bob


KLAVIYO = """\
Email,Event,Timestamp,Campaign Name,Subject
ann@example.com,Received Email,2024-01-08T09:00:00+00:00,January news,New teas
ann@example.com,Opened Email,2024-01-08T10:00:00+00:00,January news,New teas
ann@example.com,Opened Email,2024-01-09T10:00:00+00:00,January news,New teas
ann@example.com,Clicked Email,2024-01-08T10:01:00+00:00,January news,New teas
bob@example.com,Received Email,2024-01-08T09:00:00+00:00,January news,New teas
bob@example.com,Bounced Email,2024-01-08T09:00:05+00:00,January news,New teas
cara@example.com,Received Email,2024-01-08T09:00:00+00:00,January news,New teas
cara@example.com,Opened Email,2024-01-08T12:00:00+00:00,January news,New teas
cara@example.com,Unsubscribed,2024-01-08T12:05:00+00:00,January news,New teas
dan@example.com,Received Email,2024-01-08T09:00:00+00:00,January news,New teas
ann@example.com,Received Email,2024-02-05T09:00:00+00:00,February sale,20% off
ann@example.com,Opened Email,2024-02-05T11:00:00+00:00,February sale,20% off
"""


def test_klaviyo_events_preset(tmp_path, capsys):
    cfg = write(tmp_path, {"orders.csv": SHOPIFY_HEADER + "\n".join(SHOPIFY_LINES) + "\n", "events.csv": KLAVIYO},
                "as_of: 2024-02-29\ntables:\n  transactions: {preset: shopify_orders, path: orders.csv}\n"
                "  touches: {preset: klaviyo_events, path: events.csv}\n")
    code, text = run(["validate", str(cfg)], capsys)
    assert code == 0, text
    ds = ek.open_dataset(cfg)
    touches = ds.to_pandas("touches")
    assert set(touches.channel) == {"email"} and set(touches.campaign_id) == {"January news", "February sale"}
    assert sorted(set(touches.event)) == ["bounce", "click", "open", "sent", "unsubscribe"]
    # five messages (four in January, ann's in February), bob's bounced: four delivered;
    # ann opened both, cara opened; ann clicked once; cara unsubscribed
    assert M.email.open_rate(ds["touches"]).counts == {"opened": 3, "delivered": 4}
    assert M.email.click_rate(ds["touches"]).counts == {"clicked": 1, "delivered": 4}
    assert M.email.bounce_rate(ds["touches"]).counts == {"bounced": 1, "sent": 5}
    assert M.email.unsubscribe_rate(ds["touches"]).value == pytest.approx(1 / 4)


GA4 = """\
event_date,event_timestamp,event_name,user_pseudo_id,user_id,ga_session_id,platform
20240108,1704704400000000,session_start,1843.1704704400,C-1001,1704704400,WEB
20240108,1704704400000000,page_view,1843.1704704400,C-1001,1704704400,WEB
20240108,1704704460000000,page_view,1843.1704704400,C-1001,1704704400,WEB
20240108,1704704580000000,purchase,1843.1704704400,C-1001,1704704400,WEB
20240109,1704801600000000,session_start,9921.1704801600,,1704801600,WEB
20240109,1704801630000000,page_view,9921.1704801600,,1704801600,WEB
20240109,1704801720000000,form_submit,9921.1704801600,,1704801600,WEB
20240120,1705775400000000,session_start,1843.1704704400,C-1001,1705775400,WEB
20240120,1705775460000000,page_view,1843.1704704400,C-1001,1705775400,WEB
"""


def test_ga4_bigquery_events_preset(tmp_path, capsys):
    cfg = write(tmp_path, {"orders.csv": SHOPIFY_HEADER + "\n".join(SHOPIFY_LINES) + "\n", "events.csv": GA4},
                "as_of: 2024-02-29\ntables:\n  transactions: {preset: shopify_orders, path: orders.csv}\n"
                "  touches: {preset: ga4_bigquery_events, path: events.csv}\n")
    code, text = run(["validate", str(cfg)], capsys)
    assert code == 0, text
    ds = ek.open_dataset(cfg)
    touches = ds.to_pandas("touches").sort_values("timestamp")
    assert set(touches.channel) == {"web"} and len(touches) == 9
    # 1704704400000000 µs since 1970 is 2024-01-08 09:00:00 UTC
    assert str(touches.timestamp.min()) == "2024-01-08 09:00:00"
    assert str(touches.timestamp.max()) == "2024-01-20 18:31:00"
    assert touches.event.value_counts().to_dict() == {"view": 4, "session_start": 3, "conversion": 1, "form_submit": 1}
    # the visitor without a user_id has no customer
    assert touches.customer_id.value_counts().to_dict() == {"C-1001": 6} and touches.customer_id.isna().sum() == 3
    with pytest.raises(ConfigError, match="has no settings for the leads table"):
        parse_config({"tables": {"transactions": "x.csv", "leads": {"preset": "ga4_bigquery_events", "path": "x"}}})


# the two queries of the preset (web_sessions and pageviews) on the events of GA4 above
GA4_SESSIONS = """\
session_key,session_start,pageviews,duration_seconds,user_id,landing_page,exit_page,converted
1843.1704704400.1704704400,1704704400000000,2,180.0,C-1001,https://shop.example.com/,https://shop.example.com/tea,true
9921.1704801600.1704801600,1704801600000000,1,120.0,,https://shop.example.com/contact,https://shop.example.com/contact,false
1843.1704704400.1705775400,1705775400000000,1,0.0,C-1001,https://shop.example.com/,https://shop.example.com/,false
"""
GA4_PAGEVIEWS = """\
session_key,page_location,event_timestamp
1843.1704704400.1704704400,https://shop.example.com/,1704704400000000
1843.1704704400.1704704400,https://shop.example.com/tea,1704704460000000
9921.1704801600.1704801600,https://shop.example.com/contact,1704801630000000
1843.1704704400.1705775400,https://shop.example.com/,1705775460000000
"""


def test_ga4_sessions_and_pageviews_from_the_presets_queries(tmp_path, capsys):
    cfg = write(tmp_path, {"orders.csv": SHOPIFY_HEADER + "\n".join(SHOPIFY_LINES) + "\n", "sessions.csv": GA4_SESSIONS,
                           "pageviews.csv": GA4_PAGEVIEWS},
                "as_of: 2024-02-29\ntables:\n  transactions: {preset: shopify_orders, path: orders.csv}\n"
                "  web_sessions: {preset: ga4_bigquery_events, path: sessions.csv}\n"
                "  pageviews: {preset: ga4_bigquery_events, path: pageviews.csv}\n")
    code, text = run(["validate", str(cfg)], capsys)
    assert code == 0, text
    ds = ek.open_dataset(cfg)
    s = ds.to_pandas("web_sessions").sort_values("started_at")
    assert str(s.started_at.min()) == "2024-01-08 09:00:00" and s.customer_id.isna().sum() == 1
    # sessions of one page: 2 of 3; one converted; mean duration (180 + 120 + 0) / 3
    assert M.web.bounce_rate(ds["web_sessions"]).counts == {"single_page": 2, "sessions": 3}
    assert M.web.conversion_rate(ds["web_sessions"]).counts == {"converted": 1, "sessions": 3}
    assert s.duration_seconds.mean() == pytest.approx(100.0)
    # exits: the home page was the last page of one of its two views, /tea and /contact of their one
    exits = M.pages.page_exits(ds["pageviews"])["exit"].set_index("group")
    assert exits["exits"].to_dict() == {"https://shop.example.com/": 1, "https://shop.example.com/tea": 1,
                                        "https://shop.example.com/contact": 1}
    assert exits["pageviews"].to_dict()["https://shop.example.com/"] == 2
    code, text = run(["presets"], capsys)
    assert "LOGICAL_OR(event_name = 'purchase') AS converted" in text and "WHERE event_name = 'page_view'" in text


NPS_QUESTION = "How likely are you to recommend us to a friend?"
TYPEFORM = f"""\
#,{NPS_QUESTION},What is the main reason for your score?,email,Response Type,Start Date (UTC),Stage Date (UTC),Submit Date (UTC),Network ID
a1b2,10,"Great tea, fast delivery",ann@example.com,completed,2024-03-01 10:10:00,,2024-03-01 10:15:00,4f2a
c3d4,9,,bob@example.com,completed,2024-03-02 08:00:00,,2024-03-02 08:01:30,7b1c
e5f6,7,OK,cara@example.com,completed,2024-03-03 09:00:00,,2024-03-03 09:02:00,9d3e
g7h8,4,Too slow,dan@example.com,completed,2024-03-04 11:00:00,,2024-03-04 11:03:00,2c8f
i9j0,8,,,completed,2024-03-05 12:00:00,,2024-03-05 12:00:40,5a6b
"""


def _typeform(tmp_path, columns: str):
    return write(tmp_path, {"orders.csv": SHOPIFY_HEADER + "\n".join(SHOPIFY_LINES) + "\n", "responses.csv": TYPEFORM},
                 "as_of: 2024-03-31\ntables:\n  transactions: {preset: shopify_orders, path: orders.csv}\n"
                 f"  surveys: {{preset: typeform_responses, path: responses.csv{columns}}}\n")


def test_typeform_responses_preset(tmp_path, capsys):
    cfg = _typeform(tmp_path, f', columns: {{score: "{NPS_QUESTION}", comment: "What is the main reason for your score?"}}')
    code, text = run(["validate", str(cfg)], capsys)
    assert code == 0, text
    ds = ek.open_dataset(cfg)
    surveys = ds.to_pandas("surveys")
    assert set(surveys.kind) == {"nps"} and sorted(surveys.score) == [4, 7, 8, 9, 10]
    assert str(surveys.timestamp.min()) == "2024-03-01 10:15:00"
    assert surveys.customer_id.isna().sum() == 1  # the last answer has no email
    assert "Great tea, fast delivery" in set(surveys.comment)
    # promoters 10 and 9, a detractor 4, passives 7 and 8: 100 × (2 − 1) / 5 = 20
    assert M.satisfaction.nps(ds["surveys"]).value == pytest.approx(20.0)


def test_a_preset_column_only_the_user_can_name(tmp_path, capsys):
    # Typeform names the score column after the question: the preset asks for it
    code, text = run(["validate", str(_typeform(tmp_path, ""))], capsys)
    assert_clear_error(code, text, "tables.surveys.columns.score: preset typeform_responses (Typeform responses export) "
                       "cannot know which column is score: set it yourself, the header of your 0-10 question",
                       'columns: {score: "How likely are you to recommend us to a friend?"}')
    code, text = run(["presets"], capsys)
    assert "you set score: the header of your 0-10 question" in text


# --- the general settings presets are made of --------------------------------------------

def test_constants_values_and_exclude(tmp_path):
    cfg = write(tmp_path, {
        "tx.csv": "cust,day,amount\na,2024-01-01,10\nb,2024-01-02,5\n",
        "t.csv": "who,what,when,state\na, Opened ,2024-01-03,ok\na,SENT,2024-01-02,ok\nb,sent,2024-01-02,test\nb,weird,2024-01-02,\n",
    }, """\
        as_of: 2024-01-31
        tables:
          transactions: {path: tx.csv, columns: {customer_id: cust, timestamp: day}}
          touches:
            path: t.csv
            columns: {customer_id: who, event: what, timestamp: when}
            constants: {channel: sms}
            values: {event: {opened: open, sent: sent, weird: view}}
            exclude: {state: [test]}
        """)
    ds = ek.open_dataset(cfg)
    t = ds.to_pandas("touches").sort_values(["customer_id", "timestamp"])
    assert list(t.event) == ["sent", "open", "view"]  # b's test row left out; ' Opened ' and SENT matched
    assert set(t.channel) == {"sms"}
    assert any("1 rows are left out by tables.touches.exclude (state is 'test')" in w for w in ds.warnings)


def test_rows_left_out_by_exclude_keep_the_row_numbers_of_the_file(tmp_path):
    # the stage numbers rows as it reads the file: an excluded row before a bad value
    # must not shift the row the message names
    cfg = write(tmp_path, {"tx.csv": "cust,day,amount\na,2024-01-01,10\n", "t.csv": (
        "who,what,when,state\na,open,2024-01-03,test\na,sent,2024-01-02,test\nb,sent,2024-99-02,ok\n"
    )}, """\
        tables:
          transactions: {path: tx.csv, columns: {customer_id: cust, timestamp: day}}
          touches:
            path: t.csv
            columns: {customer_id: who, event: what, timestamp: when}
            exclude: {state: [test]}
        """)
    with pytest.raises(DataError) as e:
        ek.open_dataset(cfg)
    assert "1 of 1 values cannot be read as dates/times, e.g. row 3: '2024-99-02'" in str(e.value)


def test_cancel_when_and_refund_column(tmp_path):
    cfg = write(tmp_path, {"tx.csv": (
        "order,cust,day,total,status,refunded\n"
        "o1,a,2024-01-01,100,paid,0\n"
        "o2,a,2024-01-05,50,Cancelled,\n"
        "o3,b,2024-01-06,80,paid,30\n"
        "o4,b,2024-01-07,20,cancelled,20\n"
    )}, """\
        tables:
          transactions:
            path: tx.csv
            columns: {customer_id: cust, timestamp: day, order_id: order, amount: total}
            returns: {cancel_when: {status: [cancelled]}, refund_column: refunded}
        """)
    ds = ek.open_dataset(cfg)
    # o2 and o4 cancelled (o4's refund is its cancellation, not a second return); o3 net 50
    assert ds.purchases.execute().set_index("order_id").amount.to_dict() == pytest.approx({"o1": 100, "o3": 50})
    assert ds.to_pandas("transactions").amount.sum() == pytest.approx(150)


def test_bad_value_settings_are_config_errors(tmp_path, capsys):
    cfg = write(tmp_path, {"tx.csv": "customer_id,timestamp,amount\na,2024-01-01,1\n"}, """\
        identity: {email: lowercase}
        tables:
          transactions:
            path: tx.csv
            constants: {chanel: web}
            values: {channel: [web]}
            returns: {cancel_when: status}
          touches: {preset: shopify_orders, path: tx.csv}
        """)
    code, text = run(["validate", str(cfg)], capsys)
    assert_clear_error(code, text, "constants.chanel: 'chanel' is not a column of transactions (did you mean 'channel'?)",
                       "values.channel: expected a mapping", "returns.cancel_when: expected a column",
                       "identity.email: 'lowercase' is not one of lowercase_trim, trim",
                       "shopify_orders (Shopify orders export) has no settings for the touches table")


def test_derive_coalesce_reads_blanks_as_the_default(tmp_path):
    cfg = write(tmp_path, {"tx.csv": "c,t,q,p,ship\na,2024-01-01,2,3,1.5\na,2024-01-01,1,4,\n"},
                'tables:\n  transactions:\n    path: tx.csv\n    columns: {customer_id: c, timestamp: t}\n'
                '    derive: {amount: "q * p + coalesce(ship, 0)"}\n')
    assert ek.open_dataset(cfg).to_pandas("transactions").amount.sum() == pytest.approx(6 + 1.5 + 4)


def test_presets_command_lists_every_preset_with_its_columns(capsys):
    code, text = run(["presets"], capsys)
    assert code == 0
    for name in ("shopify_orders", "mailchimp_activity", "zendesk_tickets", "hubspot_contacts", "delighted_nps",
                 "woocommerce_orders", "stripe_charges", "klaviyo_events", "ga4_bigquery_events", "typeform_responses"):
        assert name in text
    assert "transactions: expects Email, Created at, Name, Lineitem quantity, Lineitem price" in text


def test_every_preset_parses_into_a_valid_config():
    for preset in presets.presets().values():
        for table in preset.tables:
            asked = {c: "x" for c in preset.tables[table].get("user_columns") or {}}
            spec = {"preset": preset.name, "path": "x.csv", **({"columns": asked} if asked else {})}
            parse_config({"tables": {"transactions": "x.csv", table: spec}})


# --- identity: one customer across the shop, the newsletter and the help desk -----------------

@pytest.mark.slow
def test_identity_joins_shop_newsletter_and_help_desk(tmp_path, capsys):
    # the newsletter and the help desk write Ann's address in other cases and with spaces
    mailchimp = MAILCHIMP.replace("ann@example.com,c1,January news,open,2024-01-08T10",
                                  " Ann@Example.COM ,c1,January news,open,2024-01-08T10")
    cfg = write(tmp_path, {"orders.csv": SHOPIFY_HEADER + "\n".join(SHOPIFY_LINES) + "\n",
                           "activity.csv": mailchimp, "tickets.csv": ZENDESK}, """\
        identity: {email: lowercase_trim}
        as_of: 2024-02-29
        tables:
          transactions: {preset: shopify_orders, path: orders.csv}
          touches: {preset: mailchimp_activity, path: activity.csv}
          tickets: {preset: zendesk_tickets, path: tickets.csv}
        """)
    ds = ek.open_dataset(cfg)
    ids = {name: set(ds.to_pandas(name).customer_id.dropna()) for name in ("transactions", "touches", "tickets")}
    everyone = set().union(*ids.values())
    assert all(i.startswith("em-") and "@" not in i for i in everyone)
    # ann, bob, cara bought; dan only got the newsletter and wrote a ticket: four people in all
    assert len(ids["transactions"]) == 3 and len(everyone) == 4
    assert ids["transactions"] <= ids["touches"] and ids["transactions"] <= ids["tickets"]
    assert M.email.open_rate(ds["touches"]).counts == {"opened": 2, "delivered": 3}
    # the KPI report on the same people (the help desk's CSAT answers as surveys: the KPI report
    # asks tickets for handle_seconds, which a Zendesk export does not have)
    report_cfg = cfg.with_name("report.yaml")
    report_cfg.write_text(cfg.read_text().replace("tickets: {preset: zendesk_tickets", "surveys: {preset: zendesk_tickets"))
    out = tmp_path / "out"
    code, text = run(["report", str(report_cfg), "--out", str(out), "--only", "engagement_kpis"], capsys)
    assert code == 0, text
    results = json.loads((out / "engagement_kpis" / "results.json").read_text())
    everything = (out / "engagement_kpis.html").read_text() + json.dumps(results)
    everything += "".join(p.read_text() for p in (out / "engagement_kpis").glob("*.csv"))
    assert "example.com" not in everything  # no email reaches a report or an export
    assert results["satisfaction"]["csat"]["value"] == pytest.approx(2 / 3)


@pytest.mark.slow
def test_every_report_runs_on_the_tools_exports(tmp_path, capsys):
    """A shop (Shopify) with its CRM (HubSpot), newsletter (Mailchimp), help desk (Zendesk),
    NPS tool (Delighted) and web analytics (GA4), joined through identity: every report
    renders or says why it does not apply, and the KPI report's figures are the hand ones."""
    cfg = write(tmp_path, {"orders.csv": SHOPIFY_HEADER + "\n".join(SHOPIFY_LINES) + "\n", "contacts.csv": HUBSPOT,
                           "activity.csv": MAILCHIMP, "tickets.csv": ZENDESK, "nps.csv": DELIGHTED,
                           "sessions.csv": GA4_SESSIONS, "pageviews.csv": GA4_PAGEVIEWS}, """\
        identity: {email: lowercase_trim}
        as_of: 2024-02-29
        tables:
          transactions: {preset: shopify_orders, path: orders.csv}
          customers: {preset: hubspot_contacts, path: contacts.csv}
          touches: {preset: mailchimp_activity, path: activity.csv}
          tickets: {preset: zendesk_tickets, path: tickets.csv}
          surveys: {preset: delighted_nps, path: nps.csv}
          web_sessions: {preset: ga4_bigquery_events, path: sessions.csv}
          pageviews: {preset: ga4_bigquery_events, path: pageviews.csv}
        """)
    code, text = run(["validate", str(cfg)], capsys)
    assert code == 0, text
    out = tmp_path / "out"
    code, text = run(["report", str(cfg), "--out", str(out), "--jobs", "2"], capsys)
    run_json = json.loads((out / "run.json").read_text())
    status = {n["name"]: n["status"] for n in run_json["notebooks"]}
    assert code == 0 and set(status.values()) <= {"ok", "not_applicable", "skipped"}, (status, text)
    assert status["engagement_kpis"] == "ok" and status["cohort_retention"] == "ok"
    kpis = json.loads((out / "engagement_kpis" / "results.json").read_text())
    # the Shopify purchases (26.99 + 21.00 + 30.00 + 45.00) and the guest order (12.00) over five orders
    assert kpis["revenue"]["average_order_value"]["value"] == pytest.approx((26.99 + 21.00 + 30.00 + 45.00 + 12.00) / 5)
    # Mailchimp: four sent, one bounced, ann and cara opened; Delighted: 100 × (2 − 2) / 5; GA4: 2 of 3 sessions one page
    assert kpis["email"]["open_rate"]["value"] == pytest.approx(2 / 3)
    assert kpis["satisfaction"]["nps"]["value"] == pytest.approx(0.0)
    assert kpis["web"]["bounce_rate"]["value"] == pytest.approx(2 / 3)
    everything = "".join(p.read_text(encoding="utf-8") for p in out.glob("*.html"))
    assert "example.com" not in everything.replace("shop.example.com", "")  # no customer email on a page

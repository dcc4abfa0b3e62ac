"""Synthetic card transactions: true feature values, fraud labels and the served view.

The simulation keeps two views of every transaction. The *true* values describe what really
happened and decide whether a transaction is fraud. The *served* values are what the scoring
service received; they equal the true values except where an upstream change corrupted them.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

COUNTRIES = ("DE", "FR", "GB", "NL", "ES", "IT", "PL", "SE", "US", "BR")
COUNTRY_SHARE = np.array([0.24, 0.14, 0.13, 0.08, 0.09, 0.09, 0.06, 0.04, 0.08, 0.05])
# Summer-time offsets from UTC; valid for the whole simulated period (late Aug to 19 Oct 2026):
# EU clocks change on 25 Oct 2026, US on 1 Nov 2026, Brazil has no daylight saving time.
UTC_OFFSET_HOURS = np.array([2, 2, 1, 2, 2, 2, 2, 2, -4, -3])
COUNTRY_SPEND = np.array([1.0, 1.0, 1.1, 1.05, 0.9, 0.95, 0.7, 1.15, 1.25, 0.8])
COUNTRY_RISK = np.array([0.0, 0.0, 0.1, 0.0, 0.1, 0.1, 0.15, 0.0, 0.3, 0.45])

MERCHANTS = (
    "grocery",
    "restaurant",
    "fuel",
    "fashion",
    "electronics",
    "travel",
    "digital_goods",
    "cash_withdrawal",
)
MERCHANT_SHARE = np.array([0.24, 0.16, 0.09, 0.12, 0.08, 0.06, 0.15, 0.10])
MERCHANT_AMOUNT = np.array([0.8, 0.7, 1.0, 1.3, 2.0, 2.6, 0.5, 1.5])
MERCHANT_ONLINE = np.array([0.08, 0.15, 0.0, 0.45, 0.5, 0.7, 1.0, 0.0])
MERCHANT_RISK = np.array([0.0, 0.0, 0.1, 0.2, 0.7, 0.5, 0.8, 0.4])
CASH = MERCHANTS.index("cash_withdrawal")

CHANNELS = ("pos", "online", "atm")
POS, ONLINE, ATM = 0, 1, 2
DEVICES = ("terminal", "mobile", "desktop", "tablet")
ONLINE_DEVICE_SHARE = np.array([0.62, 0.30, 0.08])

CATEGORICAL = ("merchant_category", "country", "channel", "device_type")
FEATURES = (
    "amount",
    "avg_amount",
    "ratio",
    "merchant_category",
    "country",
    "channel",
    "device_type",
    "account_age_days",
    "hour",
    "txn_count_1h",
    "txn_count_24h",
    "distance_from_home_km",
)
NUMERIC = tuple(f for f in FEATURES if f not in CATEGORICAL)
INT_FEATURES = ("account_age_days", "hour", "txn_count_1h", "txn_count_24h")

# Fraud model of the world (log-odds). The ratio term dominates on purpose: a model trained on
# this data leans on `ratio`, which is what makes the upstream avg_amount change so damaging.
FRAUD_INTERCEPT = -7.6
FRAUD_LOG_RATIO = 2.8
# Share of transactions far above the account's usual spend, and the size of that excursion.
SPIKE_SHARE = 0.04
SPIKE_SCALE = 0.9
SPIKE_CAP = 3.5  # at most ~33x the usual spend, keeps amount's variance finite


@dataclass(frozen=True)
class Transactions:
    """True (uncorrupted) feature values of a batch; categoricals are integer codes."""

    amount: np.ndarray
    avg_amount: np.ndarray
    merchant: np.ndarray
    country: np.ndarray
    channel: np.ndarray
    device: np.ndarray
    account_age_days: np.ndarray
    hour: np.ndarray
    txn_count_1h: np.ndarray
    txn_count_24h: np.ndarray
    distance_from_home_km: np.ndarray

    def __len__(self) -> int:
        return len(self.amount)


def local_hour(event_us: np.ndarray, country: np.ndarray) -> np.ndarray:
    """Cardholder's local hour of day (0-23) for UTC microsecond timestamps."""
    utc_hour = event_us // 3_600_000_000
    return ((utc_hour + UTC_OFFSET_HOURS[country]) % 24).astype(np.int32)


def _channels(merchant: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Channel follows the merchant: cash is always ATM, digital goods always online."""
    online = rng.random(len(merchant)) < MERCHANT_ONLINE[merchant]
    channel = np.where(online, ONLINE, POS)
    return np.where(merchant == CASH, ATM, channel).astype(np.int8)


def _devices(channel: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Terminals for card-present payments, a customer device for online ones."""
    customer = 1 + rng.choice(3, size=len(channel), p=ONLINE_DEVICE_SHARE)
    return np.where(channel == ONLINE, customer, 0).astype(np.int8)


def _account_age(n: int, rng: np.random.Generator) -> np.ndarray:
    """Mostly established accounts (median ~3 years) plus ~6 % opened in the last two months."""
    established = np.clip(rng.lognormal(np.log(1100), 0.7, n), 61, 9000)
    new = rng.integers(0, 61, n)
    return np.where(rng.random(n) < 0.06, new, established).astype(np.int32)


def _amounts(
    merchant: np.ndarray, country: np.ndarray, rng: np.random.Generator
) -> tuple[np.ndarray, np.ndarray]:
    """Account average (log-normal) and the transaction amount drawn around it.

    A few per cent of transactions are far above the account's usual spend (the heavy tail of
    `ratio` in which most fraud lives).
    """
    n = len(merchant)
    avg = np.round(rng.lognormal(np.log(42.0), 0.55, n) * COUNTRY_SPEND[country], 2)
    log_ratio = np.log(MERCHANT_AMOUNT[merchant]) + rng.normal(0.0, 0.5, n)
    spike = rng.random(n) < SPIKE_SHARE
    log_ratio += np.where(spike, np.minimum(rng.exponential(SPIKE_SCALE, n), SPIKE_CAP), 0.0)
    amount = np.round(np.maximum(avg * np.exp(log_ratio), 0.5), 2)
    return amount, avg


def _velocity(n: int, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """Transactions on the card in the last hour and day; a per-card activity level couples them."""
    activity = rng.gamma(2.0, 0.5, n)
    last_hour = rng.poisson(0.35 * activity)
    last_day = last_hour + rng.poisson(3.0 * activity)
    return last_hour.astype(np.int32), last_day.astype(np.int32)


def _distance(merchant: np.ndarray, channel: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Km between the transaction and home: near for shops, IP-based and wider for online."""
    n = len(merchant)
    median = np.where(channel == ONLINE, 15.0, 6.0)
    median = np.where(merchant == MERCHANTS.index("travel"), median * 8.0, median)
    sigma = np.where(channel == ONLINE, 1.5, 1.1)
    return np.round(np.clip(rng.lognormal(np.log(median), sigma, n), 0.0, 19_000.0), 1)


def simulate(event_us: np.ndarray, country: np.ndarray, rng: np.random.Generator) -> Transactions:
    """True feature values for transactions at the given UTC times from the given countries."""
    n = len(event_us)
    merchant = rng.choice(len(MERCHANTS), size=n, p=MERCHANT_SHARE).astype(np.int8)
    channel = _channels(merchant, rng)
    device = _devices(channel, rng)
    amount, avg = _amounts(merchant, country, rng)
    last_hour, last_day = _velocity(n, rng)
    return Transactions(
        amount=amount,
        avg_amount=avg,
        merchant=merchant,
        country=country.astype(np.int8),
        channel=channel,
        device=device,
        account_age_days=_account_age(n, rng),
        hour=local_hour(event_us, country),
        txn_count_1h=last_hour,
        txn_count_24h=last_day,
        distance_from_home_km=_distance(merchant, channel, rng),
    )


def fraud_logit(t: Transactions) -> np.ndarray:
    """Log-odds that a transaction is fraud, from its TRUE feature values."""
    age = t.account_age_days
    night = (t.hour <= 5).astype(float)
    return (
        FRAUD_INTERCEPT
        + FRAUD_LOG_RATIO * np.log(t.amount / t.avg_amount)
        + 1.3 * (age < 30)
        + 0.6 * ((age >= 30) & (age < 90))
        + 0.45 * np.minimum(t.txn_count_1h, 6)
        + 0.04 * np.minimum(t.txn_count_24h, 40)
        + 0.35 * np.log1p(t.distance_from_home_km / 100.0)
        + 0.8 * night
        + MERCHANT_RISK[t.merchant]
        + 0.5 * (t.channel == ONLINE)
        + COUNTRY_RISK[t.country]
    )


def label(t: Transactions, rng: np.random.Generator) -> np.ndarray:
    """Draw the fraud outcome; it depends only on the true values, never on served ones."""
    p = 1.0 / (1.0 + np.exp(-fraud_logit(t)))
    return rng.random(len(t)) < p


def served_columns(
    t: Transactions, avg_multiplier: np.ndarray | float = 1.0
) -> dict[str, np.ndarray]:
    """Feature columns as the scoring service saw them, in FEATURES order.

    `avg_multiplier` is the upstream corruption of `avg_amount` (1.0 = correct); `ratio` is
    recomputed from the served average, exactly as the online feature pipeline does.
    """
    avg = np.round(t.avg_amount * avg_multiplier, 2)
    return {
        "amount": t.amount,
        "avg_amount": avg,
        "ratio": np.round(t.amount / avg, 4),
        "merchant_category": np.asarray(MERCHANTS)[t.merchant],
        "country": np.asarray(COUNTRIES)[t.country],
        "channel": np.asarray(CHANNELS)[t.channel],
        "device_type": np.asarray(DEVICES)[t.device],
        "account_age_days": t.account_age_days,
        "hour": t.hour,
        "txn_count_1h": t.txn_count_1h,
        "txn_count_24h": t.txn_count_24h,
        "distance_from_home_km": t.distance_from_home_km,
    }

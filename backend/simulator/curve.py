"""A car charging: the physics behind the simulated meter values.

The car draws its maximum power (bounded by the station and any charging limit the CSMS set)
until its battery reaches `taper_from_soc` (about 80 %), then the power falls linearly towards a
trickle at 100 %, as lithium batteries do. Current per phase is power / (phases x voltage); the
voltage wanders a little around the nominal 230 V; the station's energy register counts Wh.

`speed` compresses the session: the battery fills `speed` times faster (as if it were that
much smaller), while power and the energy register stay physical, so the server always sees
energy = power x time on real timestamps.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import datetime

NOMINAL_VOLTAGE = 230.0
# Below the minimum AC current of IEC 61851 (6 A per phase) a car stops drawing.
MIN_CURRENT_A = 6.0


@dataclass
class Car:
    battery_wh: float = 60_000.0
    soc: float = 20.0  # percent
    target_soc: float = 95.0
    max_power_w: float = 11_000.0
    phases: int = 3


@dataclass(frozen=True)
class Sample:
    at: datetime
    power_w: float
    energy_wh: float  # the station's meter register
    current_a: tuple[float, float, float]
    voltage_v: tuple[float, float, float]
    soc: float


class ChargingCurve:
    def __init__(
        self,
        car: Car,
        *,
        station_max_w: float,
        meter_wh: float = 0.0,
        speed: float = 1.0,
        taper_from_soc: float = 80.0,
        rng: random.Random | None = None,
    ) -> None:
        self.car = car
        self.station_max_w = station_max_w
        self.meter_wh = meter_wh
        self.speed = max(speed, 1e-6)
        self.taper_from_soc = taper_from_soc
        self.limit_w: float | None = None  # a charging profile from the CSMS, in W
        self.limit_a: float | None = None  # or in A per phase (of the phases the car uses)
        self.rng = rng or random.Random()
        self.suspended = False  # the car is full, or paused: connected, drawing nothing

    @property
    def full(self) -> bool:
        return self.car.soc >= self.car.target_soc

    def available_w(self) -> float:
        power = min(self.car.max_power_w, self.station_max_w)
        if self.limit_w is not None:
            power = min(power, self.limit_w)
        if self.limit_a is not None:
            power = min(power, self.limit_a * max(1, min(3, self.car.phases)) * NOMINAL_VOLTAGE)
        return max(0.0, power)

    def power_at(self, soc: float) -> float:
        """The power the car draws at this state of charge (before noise)."""
        if soc >= 100.0:
            return 0.0
        power = self.available_w()
        if soc > self.taper_from_soc:
            share = (100.0 - soc) / (100.0 - self.taper_from_soc)
            power *= max(0.05, share)
        floor = MIN_CURRENT_A * self.car.phases * NOMINAL_VOLTAGE
        if power < floor:
            # Under the minimum current the car pauses rather than draw a sliver.
            return floor if self.available_w() >= floor else 0.0
        return power

    def step(self, at: datetime, seconds: float) -> Sample:
        """Charge for `seconds` of real time and read the meter at `at`."""
        drawing = not self.suspended and not self.full
        power = self.power_at(self.car.soc) if drawing else 0.0
        if power > 0:
            power *= 1 + self.rng.uniform(-0.01, 0.01)
        energy = power * max(0.0, seconds) / 3600.0
        self.meter_wh += energy
        if power > 0:
            gained = energy * self.speed / self.car.battery_wh * 100.0
            self.car.soc = min(100.0, self.car.soc + gained)
        voltages = tuple(round(NOMINAL_VOLTAGE + self.rng.uniform(-3.0, 3.0), 1) for _ in range(3))
        phases = max(1, min(3, self.car.phases))
        currents = [0.0, 0.0, 0.0]
        if power > 0:
            for i in range(phases):
                currents[i] = round(power / phases / voltages[i], 2)
        return Sample(
            at=at,
            power_w=round(power, 1),
            energy_wh=self.meter_wh,
            current_a=(currents[0], currents[1], currents[2]),
            voltage_v=(voltages[0], voltages[1], voltages[2]),
            soc=round(self.car.soc, 1),
        )


def random_car(rng: random.Random) -> Car:
    """A car from a small, plausible fleet, arriving half empty or so."""
    battery, power, phases = rng.choice(
        [
            (52_000.0, 22_000.0, 3),  # a city car with a 22 kW charger
            (60_000.0, 11_000.0, 3),
            (77_000.0, 11_000.0, 3),
            (40_000.0, 7_400.0, 1),  # single phase
            (82_000.0, 11_000.0, 3),
        ]
    )
    return Car(
        battery_wh=battery,
        soc=rng.uniform(10.0, 55.0),
        target_soc=rng.uniform(90.0, 100.0),
        max_power_w=power,
        phases=phases,
    )

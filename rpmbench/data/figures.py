"""Articulated, non-rigid objects for the ``deform`` built-in set: real photo textures, exact mattes.

A :class:`Figure` is a body (an ellipse, a wobbly blob or scikit-image's horse silhouette) plus
0..4 thin limbs (capsules) hinged on the body's outline, every part textured with pixels of one
real photograph shipped inside scikit-image. Rendering is *backward*: each frame pixel ``x`` is
mapped to the body canvas by the inverse of the figure's affine pose, displaced by a smooth
time-varying deformation field, and, for a limb, rotated about the limb's joint by the limb's
current swing angle. A pixel belongs to the object exactly when one part's matte, sampled at the
nearest canvas pixel of that location, is set, so the mask is the warped object support by
construction and the colours come from the same map.
"""

from __future__ import annotations

import functools
import math
from dataclasses import dataclass

import cv2
import numpy as np

# Real photographs shipped inside scikit-image (no download): function names in skimage.data.
PHOTOS: tuple[str, ...] = ("astronaut", "chelsea", "coffee", "rocket", "hubble_deep_field",
                           "immunohistochemistry", "retina", "colorwheel", "motorcycle_left")


@functools.cache
def photo(name: str) -> np.ndarray:
    """``(H, W, 3)`` uint8 RGB of one scikit-image photograph (a function of ``skimage.data``) or
    matplotlib's ``grace_hopper`` (greyscale ones repeated)."""
    from skimage import data

    if name == "grace_hopper":  # matplotlib's sample photograph
        from matplotlib import cbook
        from PIL import Image

        with cbook.get_sample_data("grace_hopper.jpg") as handle:
            return np.asarray(Image.open(handle).convert("RGB"))
    if name == "motorcycle_left":
        image = data.stereo_motorcycle()[0]
    else:
        image = getattr(data, name)()
    if image.ndim == 2:
        image = np.repeat(image[..., None], 3, axis=2)
    return np.ascontiguousarray(image[..., :3].astype(np.uint8))


@functools.cache
def horse_silhouette() -> np.ndarray:
    """``(h, w)`` bool: scikit-image's horse (True on the horse), cropped to its box."""
    from skimage import data

    horse = ~data.horse()
    ys, xs = np.nonzero(horse)
    return horse[ys.min():ys.max() + 1, xs.min():xs.max() + 1]


@dataclass(frozen=True)
class Part:
    """One rigid piece of a figure: ``rgb (h, w, 3)`` uint8 and ``matte (h, w)`` bool in its own
    canvas, hinged at ``joint`` (y, x) of the body canvas, resting at ``rest`` radians (the
    direction of its long axis), swinging by ``swing * sin(rate * t + phase)``. The body is the
    part with ``joint=None``."""

    rgb: np.ndarray
    matte: np.ndarray
    joint: tuple[float, float] | None = None
    rest: float = 0.0
    swing: float = 0.0
    rate: float = 0.0
    phase: float = 0.0

    def angle(self, t: float) -> float:
        return self.rest + self.swing * math.sin(self.rate * t + self.phase)


@dataclass(frozen=True)
class Field:
    """A smooth deformation of the body canvas: two travelling sine waves of ``amplitude`` canvas
    pixels, wave vectors ``waves`` (cycles per canvas side, per axis) and angular ``rate`` per frame."""

    amplitude: float
    waves: tuple[tuple[float, float], tuple[float, float]]
    rate: float
    phase: tuple[float, float]


@dataclass(frozen=True)
class Pose:
    """Where a figure is at one instant: centre (y, x) in frame pixels, rotation (radians) and
    scale (frame pixels per body-canvas pixel)."""

    centre: tuple[float, float]
    angle: float
    scale: float


@dataclass(frozen=True)
class Figure:
    """A body part followed by limb parts, and the deformation field shared by all of them."""

    parts: tuple[Part, ...]
    field: Field

    @property
    def size(self) -> tuple[int, int]:
        return self.parts[0].matte.shape

    @property
    def radius(self) -> float:
        """Body-canvas distance from the body centre that contains every part in any pose."""
        h, w = self.size
        reach = math.hypot(h, w) / 2
        for part in self.parts[1:]:
            cy, cx = part.joint
            reach = max(reach, math.hypot(cy - h / 2, cx - w / 2) + math.hypot(*part.matte.shape))
        return reach + 2 * self.field.amplitude


def canvas_coordinates(figure: Figure, pose: Pose, t: float, ys: np.ndarray, xs: np.ndarray) -> np.ndarray:
    """Body-canvas coordinates ``(..., 2)`` (y, x) of frame pixels ``(ys, xs)`` at time ``t``:
    the inverse pose followed by the deformation field (float64)."""
    h, w = figure.size
    cos, sin = math.cos(pose.angle), math.sin(pose.angle)
    dy, dx = (ys - pose.centre[0]) / pose.scale, (xs - pose.centre[1]) / pose.scale
    uy, ux = cos * dy - sin * dx + h / 2, sin * dy + cos * dx + w / 2  # rotate by -angle
    f = figure.field
    side = max(h, w)
    shift = []
    for (ky, kx), phase in zip(f.waves, f.phase):
        shift.append(f.amplitude * np.sin(2 * math.pi * (ky * uy + kx * ux) / side + f.rate * t + phase))
    return np.stack([uy + shift[0], ux + shift[1]], axis=-1)


def part_coordinates(part: Part, canvas: np.ndarray, t: float) -> np.ndarray:
    """Coordinates ``(..., 2)`` in ``part``'s own canvas of body-canvas points ``canvas (..., 2)``.

    A limb's canvas has its long axis along x, the joint at (h/2, 0)."""
    if part.joint is None:
        return canvas
    angle = part.angle(t)
    cos, sin = math.cos(angle), math.sin(angle)
    dy, dx = canvas[..., 0] - part.joint[0], canvas[..., 1] - part.joint[1]
    along = cos * dx + sin * dy
    across = -sin * dx + cos * dy
    return np.stack([across + part.matte.shape[0] / 2, along], axis=-1)


def sample_matte(matte: np.ndarray, coords: np.ndarray) -> np.ndarray:
    """Nearest-pixel lookup of ``matte (h, w)`` at ``coords (..., 2)`` (pixel centres at integers);
    False outside."""
    iy, ix = np.floor(coords[..., 0] + 0.5).astype(np.int64), np.floor(coords[..., 1] + 0.5).astype(np.int64)
    inside = (iy >= 0) & (iy < matte.shape[0]) & (ix >= 0) & (ix < matte.shape[1])
    out = np.zeros(coords.shape[:-1], bool)
    out[inside] = matte[iy[inside], ix[inside]]
    return out


def render_figure_parts(figure: Figure, pose: Pose, t: float, box: tuple[int, int, int, int]
                        ) -> tuple[np.ndarray, np.ndarray]:
    """The figure inside frame box ``(top, left, bottom, right)``: ``rgb (h, w, 3)`` float32 and
    ``parts (h, w)`` int8, the index of the part shown at each pixel (-1 where none; later parts
    are drawn over earlier ones)."""
    top, left, bottom, right = box
    ys, xs = np.mgrid[top:bottom, left:right].astype(np.float64)
    canvas = canvas_coordinates(figure, pose, t, ys, xs)
    rgb = np.zeros((bottom - top, right - left, 3), np.float32)
    parts = np.full((bottom - top, right - left), -1, np.int8)
    for index, part in enumerate(figure.parts):
        coords = part_coordinates(part, canvas, t)
        matte = sample_matte(part.matte, coords)
        if not matte.any():
            continue
        colour = cv2.remap(part.rgb, coords[..., 1].astype(np.float32), coords[..., 0].astype(np.float32),
                           cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)
        rgb[matte] = colour[matte]
        parts[matte] = index
    return rgb, parts


def render_figure(figure: Figure, pose: Pose, t: float, box: tuple[int, int, int, int]
                  ) -> tuple[np.ndarray, np.ndarray]:
    """The figure inside frame box ``(top, left, bottom, right)``: ``rgb (h, w, 3)`` float32 and
    its exact support ``(h, w)`` bool."""
    rgb, parts = render_figure_parts(figure, pose, t, box)
    return rgb, parts >= 0


def _field_shift(figure: Figure, u: np.ndarray, t: float) -> tuple[np.ndarray, np.ndarray]:
    """The deformation at undeformed body-canvas points ``u (..., 2)``: the shift ``(..., 2)`` and
    its Jacobian ``(..., 2, 2)`` with respect to ``u``."""
    f = figure.field
    side = max(figure.size)
    shift, jacobian = [], []
    for (ky, kx), phase in zip(f.waves, f.phase):
        argument = 2 * math.pi * (ky * u[..., 0] + kx * u[..., 1]) / side + f.rate * t + phase
        shift.append(f.amplitude * np.sin(argument))
        slope = f.amplitude * np.cos(argument) * 2 * math.pi / side
        jacobian.append(np.stack([slope * ky, slope * kx], axis=-1))
    return np.stack(shift, axis=-1), np.stack(jacobian, axis=-2)


def undeform(figure: Figure, target: np.ndarray, t: float, iterations: int = 12) -> tuple[np.ndarray, np.ndarray]:
    """Undeformed body-canvas points ``(..., 2)`` that the deformation at time ``t`` moves onto
    ``target (..., 2)`` (Newton's method from ``target``), and whether each converged (1e-4 px)."""
    u = target.copy()
    for _ in range(iterations if figure.field.amplitude else 0):
        shift, jac = _field_shift(figure, u, t)
        ry, rx = (u + shift - target)[..., 0], (u + shift - target)[..., 1]
        a, b, c, d = jac[..., 0, 0] + 1, jac[..., 0, 1], jac[..., 1, 0], jac[..., 1, 1] + 1
        det = a * d - b * c
        det = np.where(np.abs(det) < 1e-9, 1e-9, det)
        u = u - np.stack([(d * ry - b * rx) / det, (a * rx - c * ry) / det], axis=-1)
    shift, _ = _field_shift(figure, u, t)
    return u, np.abs(u + shift - target).max(axis=-1) < 1e-4


def _frame_points(figure: Figure, pose: Pose, u: np.ndarray) -> np.ndarray:
    """Frame points ``(..., 2)`` (y, x) showing undeformed body-canvas points ``u (..., 2)``."""
    h, w = figure.size
    cos, sin = math.cos(pose.angle), math.sin(pose.angle)
    uy, ux = u[..., 0] - h / 2, u[..., 1] - w / 2
    return np.stack([pose.centre[0] + pose.scale * (cos * uy + sin * ux),
                     pose.centre[1] + pose.scale * (-sin * uy + cos * ux)], axis=-1)


def previous_points(figure: Figure, pose: Pose, t: float, before: Pose, t_before: float, points: np.ndarray,
                    parts: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Where the figure's material points shown at frame ``points (N, 2)`` (y, x) at time ``t``
    (``pose``), on parts ``parts (N,)``, are at time ``t_before`` (``before``): ``(N, 2)`` frame
    points and whether the deformation could be inverted there."""
    canvas = canvas_coordinates(figure, pose, t, points[:, 0], points[:, 1])
    source = canvas.copy()  # body-canvas point of the same material point at t_before
    for index, part in enumerate(figure.parts):
        chosen = parts == index
        if part.joint is None or not chosen.any():
            continue
        local = part_coordinates(part, canvas[chosen], t)
        across, along = local[:, 0] - part.matte.shape[0] / 2, local[:, 1]
        angle = part.angle(t_before)
        cos, sin = math.cos(angle), math.sin(angle)
        source[chosen] = np.stack([part.joint[0] + sin * along + cos * across,
                                   part.joint[1] + cos * along - sin * across], axis=-1)
    undeformed, converged = undeform(figure, source, t_before)
    return _frame_points(figure, before, undeformed), converged


def _crop(rng: np.random.Generator, image: np.ndarray, height: int, width: int) -> np.ndarray:
    """A random crop of ``image`` covering ``height : width`` proportions, resized to that size."""
    ih, iw = image.shape[:2]
    zoom = min(ih / height, iw / width) * rng.uniform(0.5, 0.95)
    ch, cw = max(int(height * zoom), 2), max(int(width * zoom), 2)
    y, x = int(rng.integers(0, ih - ch + 1)), int(rng.integers(0, iw - cw + 1))
    return cv2.resize(image[y:y + ch, x:x + cw], (width, height), interpolation=cv2.INTER_AREA)


def _body_matte(rng: np.random.Generator, side: int, horse: bool = True) -> np.ndarray:
    """A body outline about ``side`` pixels: an ellipse, a blob or (when ``horse``) the horse."""
    if horse:
        kind = rng.choice(["ellipse", "blob", "horse"], p=[0.35, 0.4, 0.25])
    else:
        kind = rng.choice(["ellipse", "blob"], p=[0.35 / 0.75, 0.4 / 0.75])
    if kind == "horse":
        horse = horse_silhouette().astype(np.uint8)
        scale = side / max(horse.shape)
        size = (max(int(horse.shape[1] * scale), 4), max(int(horse.shape[0] * scale), 4))
        return cv2.resize(horse, size, interpolation=cv2.INTER_NEAREST).astype(bool)
    ratio = rng.uniform(0.45, 1.0)
    h, w = (side, max(int(side * ratio), 4)) if rng.random() < 0.5 else (max(int(side * ratio), 4), side)
    ys, xs = np.mgrid[0:h, 0:w]
    theta = np.arctan2(ys - (h - 1) / 2, xs - (w - 1) / 2)
    radius = np.ones_like(theta)
    if kind == "blob":
        for k in (2, 3, 5):
            radius = radius + rng.uniform(0, 0.25 / k * 2) * np.cos(k * theta + rng.uniform(0, 2 * math.pi))
        radius = radius / radius.max()
    r = np.hypot((ys - (h - 1) / 2) / (h / 2), (xs - (w - 1) / 2) / (w / 2))
    return r <= radius


def _capsule(length: int, width: int) -> np.ndarray:
    """``(width, length)`` bool: a bar with round ends along x."""
    cy, cx = np.mgrid[0:width, 0:length]
    half = (width - 1) / 2
    along = np.clip(cx - half, 0, None) - np.clip(cx - (length - 1 - half), 0, None)
    return np.hypot(along, cy - half) <= half + 0.5


def make_bar(rng: np.random.Generator, length: int, width: int, photo_name: str) -> Figure:
    """A rigid bar (a pole, a branch: an occluder) textured from ``photo_name``, long axis along y."""
    matte = np.ascontiguousarray(_capsule(length, width).T)
    field = Field(0.0, ((0.0, 0.0), (0.0, 0.0)), 0.0, (0.0, 0.0))
    return Figure((Part(_crop(rng, photo(photo_name), length, width), matte),), field)


def make_figure(rng: np.random.Generator, side: int, photo_name: str, limbs: int, limb_width: tuple[float, float],
                swing: float, deformation: float, horse: bool = True) -> Figure:
    """A random figure whose body canvas is about ``side`` pixels, textured from ``photo_name``
    (its body may take the horse outline only when ``horse``)."""
    image = photo(photo_name)
    matte = _body_matte(rng, side, horse)
    h, w = matte.shape
    parts = [Part(_crop(rng, image, h, w), matte)]
    ys, xs = np.nonzero(matte)
    for _ in range(limbs):
        direction = rng.uniform(0, 2 * math.pi)
        # the joint: the body pixel farthest along ``direction`` (on the outline)
        score = (ys - h / 2) * math.sin(direction) + (xs - w / 2) * math.cos(direction)
        j = int(np.argmax(score))
        length = max(int(side * rng.uniform(0.3, 0.6)), 3)
        width = max(int(round(side * rng.uniform(*limb_width))), 2)
        capsule = _capsule(length, width)
        joint = (float(ys[j]) - (ys[j] - h / 2) * 0.15, float(xs[j]) - (xs[j] - w / 2) * 0.15)  # a bit inside
        parts.append(Part(_crop(rng, image, width, length), capsule, joint, direction,
                          swing * rng.uniform(0.5, 1.0), rng.uniform(0.15, 0.6), rng.uniform(0, 2 * math.pi)))
    waves = tuple(tuple(rng.uniform(-1.2, 1.2, 2)) for _ in range(2))
    field = Field(deformation * side, waves, rng.uniform(0.1, 0.4), tuple(rng.uniform(0, 2 * math.pi, 2)))
    return Figure(tuple(parts), field)

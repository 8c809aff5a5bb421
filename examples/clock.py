"""A clock pushed by the server every second with `await tag.update()` (SSE)."""

import asyncio
import time

from htag import Tag

from htag_sse import HtagSSE


class App(Tag.div):
    def init(self):
        self.clock = Tag.span(time.strftime("%H:%M:%S"), _class="clock")
        self += Tag.h1("Server clock")
        self += self.clock
        asyncio.ensure_future(self.tick())  # cancelled by htag-sse when the page goes

    async def tick(self):
        while True:
            await asyncio.sleep(1)
            self.clock.clear(time.strftime("%H:%M:%S"))
            if not await self.clock.update():  # False once the page is gone
                return


app = HtagSSE(App)

if __name__ == "__main__":
    app.run()

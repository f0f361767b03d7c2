// Browser users in the classroom page: open it for the pupil's class, press Join, and wait until the page says "joined".
// First frames and media figures come from the page's own peer connections, which firstbell finds by itself.
import { defineWebClient } from 'firstbell';

export default defineWebClient({
  url: '/classroom.html?room={conference}&name={user}',
  steps: {
    enter: {
      layer: 'media',
      async run(page, _who, signal) {
        const button = await page.waitForSelector('#join:not([disabled])', { signal });
        await button!.click();
      },
    },
  },
  joined: '#status[data-state=joined]',
  failed: '#status[data-state=failed]',
  dropped: '#status[data-state=failed]',
});

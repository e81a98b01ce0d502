// The Offpeak console's only script: refreshes a page's live regions in place while it is open.
// Each region (an element with data-live and an id) is replaced by the same region of a fresh
// copy of the page, only when it changed and never while the keyboard is inside it, so nothing
// jumps under the reader's hand. The page works without it.
(() => {
  "use strict";
  const main = document.getElementById("main");
  const seconds = Number(main && main.dataset.refresh);
  const toggle = document.getElementById("auto-refresh");
  const said = document.getElementById("refreshed");
  if (!seconds || !toggle) return;

  const remembered = "offpeak.console.refresh";
  toggle.checked = localStorage.getItem(remembered) !== "off";
  toggle.addEventListener("change", () => localStorage.setItem(remembered, toggle.checked ? "on" : "off"));

  let busy = false;
  async function refresh() {
    if (busy || !toggle.checked || document.hidden) return;
    busy = true;
    try {
      const answer = await fetch(location.href, {
        headers: { "X-Console-Refresh": "1" }, credentials: "same-origin", redirect: "manual", cache: "no-store",
      });
      if (answer.status === 401 || answer.type === "opaqueredirect") {
        toggle.checked = false;
        said.textContent = "Signed out: reload the page to sign in again.";
        return;
      }
      if (!answer.ok && answer.status !== 404) {
        said.textContent = "Could not refresh (HTTP " + answer.status + "); trying again.";
        return;
      }
      const fresh = new DOMParser().parseFromString(await answer.text(), "text/html");
      const focused = document.activeElement;
      for (const region of document.querySelectorAll("[data-live][id]")) {
        const next = fresh.getElementById(region.id);
        if (!next || next.innerHTML === region.innerHTML) continue;
        if (focused && focused !== document.body && region.contains(focused)) continue;
        region.innerHTML = next.innerHTML;
      }
      said.textContent = "Updated " + new Date().toLocaleTimeString();
    } catch (error) {
      said.textContent = "Offline; trying again.";
    } finally {
      busy = false;
    }
  }
  setInterval(refresh, seconds * 1000);
  document.addEventListener("visibilitychange", () => { if (!document.hidden) refresh(); });
})();

// Sanad's page script (runs in the page head, before Gradio's own):
// 1. the ask token: read from #token= (or an old-style ?token=), kept in this tab only, taken out
//    of the address bar, and sent as the X-Sanad-Token header with the page's own requests;
// 2. [n] markers scroll to and flash their source instead of opening a page;
// 3. the Articles tab's upload form posts to /api/articles, and its delete form sends DELETE
//    /api/articles/ID, both with the admin token typed into the form.
(() => {
  const KEY = "sanad-token";
  let memory = "";  // when sessionStorage is blocked (some third-party iframes)
  const store = (value) => { memory = value; try { sessionStorage.setItem(KEY, value); } catch (e) { /* memory only */ } };
  const token = () => { try { return sessionStorage.getItem(KEY) || memory; } catch (e) { return memory; } };

  const here = new URL(window.location.href);
  const fragment = new URLSearchParams(here.hash.slice(1));
  const given = fragment.get("token") || here.searchParams.get("token");
  if (given) {
    store(given);
    fragment.delete("token");
    here.searchParams.delete("token");
    here.hash = fragment.toString();
    history.replaceState(history.state, "", here.toString());
  }

  const banner = (text) => {
    if (document.querySelector(".sanad-banner")) return;
    const div = document.createElement("div");
    div.className = "sanad-banner";
    div.setAttribute("role", "alert");
    div.textContent = text;
    document.body.appendChild(div);
  };

  const original = window.fetch.bind(window);
  window.fetch = async (input, init) => {
    const target = new URL(input instanceof Request ? input.url : String(input), window.location.href);
    const own = target.origin === window.location.origin;
    if (own && token()) {
      init = Object.assign({}, init);
      const headers = new Headers(init.headers || (input instanceof Request ? input.headers : undefined));
      if (!headers.has("Authorization")) headers.set("X-Sanad-Token", token());
      init.headers = headers;
    }
    const response = await original(input, init);
    if (own && target.pathname.includes("/gradio_api/")) {
      if (response.status === 401) {
        banner("This server needs an ask token: open this page as …/#token=YOUR_TOKEN (ask the server's administrator).");
      } else if (response.status === 429) {
        banner("Too many questions from here just now; wait a minute and ask again.");
      }
    }
    return response;
  };

  document.addEventListener("click", (event) => {
    const link = event.target.closest && event.target.closest("a.cite");
    if (!link) return;
    event.preventDefault();
    event.stopPropagation();
    const source = document.getElementById(link.getAttribute("href").slice(1));
    if (!source) return;
    source.scrollIntoView({behavior: "smooth", block: "center"});
    document.querySelectorAll(".sanad-source.flash").forEach((s) => s.classList.remove("flash"));
    source.classList.add("flash");
  }, true);

  const summary = (r) => {
    const lines = [`Done in ${r.seconds} s: ${r.added} added, ${r.updated} updated, ${r.unchanged} unchanged, ` +
      `${r.duplicates} duplicates; ${r.passages_written} passages written, ${r.passages_deleted} removed.`];
    for (const x of r.rejected || []) lines.push(`rejected: ${x.origin}: ${x.reason}`);
    return lines.join("\n");
  };

  document.addEventListener("submit", async (event) => {
    const form = event.target.closest && event.target.closest("form.sanad-upload");
    if (!form) return;
    event.preventDefault();
    const status = form.querySelector(".sanad-upload-status");
    const files = form.querySelector("input[type=file]").files;
    if (!files.length) { status.textContent = "Choose one or more files first (.txt .md .html .jsonl .jsonl.gz)."; return; }
    const data = new FormData();
    for (const f of files) data.append("files", f, f.name);
    data.append("source", form.querySelector("input[name=source]").value);
    status.textContent = `Uploading ${files.length} file(s)…`;
    try {
      const response = await window.fetch(new URL("api/articles", document.baseURI), {
        method: "POST", body: data,
        headers: {Authorization: `Bearer ${form.querySelector("input[name=admin]").value}`},
      });
      const body = await response.json().catch(() => ({}));
      status.textContent = body.error ? `Upload failed: ${body.error.message}` : summary(body);
    } catch (e) {
      status.textContent = `Upload failed: ${e}`;
    }
    const refresh = document.getElementById("refresh-stats");
    if (refresh) refresh.click();
  });

  document.addEventListener("submit", async (event) => {
    const form = event.target.closest && event.target.closest("form.sanad-delete");
    if (!form) return;
    event.preventDefault();
    const status = form.querySelector(".sanad-delete-status");
    const id = form.dataset.article;
    status.textContent = " Deleting…";
    try {
      const response = await window.fetch(new URL(`api/articles/${encodeURIComponent(id)}`, document.baseURI), {
        method: "DELETE",
        headers: {Authorization: `Bearer ${form.querySelector("input[name=admin]").value}`},
      });
      const body = await response.json().catch(() => ({}));
      status.textContent = body.error
        ? ` Not deleted: ${body.error.message}`
        : ` Deleted (${body.passages_deleted} passages).`;
    } catch (e) {
      status.textContent = ` Not deleted: ${e}`;
    }
    const refresh = document.getElementById("refresh-stats");
    if (refresh) refresh.click();
  });
})();

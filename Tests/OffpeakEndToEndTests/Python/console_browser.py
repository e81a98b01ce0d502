"""The operator's console in a real browser: headless Chromium driven by Selenium.

Arguments: gateway URL, operator key, screenshot folder, the id of a running batch to watch, the id
of a running batch to cancel, and the id of a request in the batch to cancel. Raises on the first
thing that is wrong; prints what it saw as JSON on its last line.
"""
import json
import os
import sys
import time

from selenium import webdriver
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By
from selenium.common.exceptions import StaleElementReferenceException
from selenium.webdriver.common.keys import Keys

base, key, shots, watched, doomed, doomed_request = sys.argv[1:7]
os.makedirs(shots, exist_ok=True)
seen = {"screenshots": []}

options = webdriver.ChromeOptions()
options.binary_location = "/usr/bin/chromium"
for argument in ["--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--disable-gpu", "--window-size=1280,900",
                 "--no-first-run", "--disable-background-networking", "--disable-component-update"]:
    options.add_argument(argument)
options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
driver = webdriver.Chrome(service=Service("/usr/bin/chromedriver"), options=options)
driver.set_page_load_timeout(30)


def wait(what, condition, within=40.0):
    deadline = time.monotonic() + within
    while True:
        value = condition()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.2)


def shot(name):
    path = os.path.join(shots, name + ".png")
    driver.save_screenshot(path)
    seen["screenshots"].append(path)


def text(selector):
    # Read in one step in the page: a live region may be swapped between a find and a read.
    return driver.execute_script(
        "const e = document.querySelector(arguments[0]); return e ? e.textContent.trim() : ''", selector)


def click(by, value):
    # A live region may be swapped under the pointer: find it again and retry.
    for _ in range(5):
        try:
            driver.find_element(by, value).click()
            return
        except StaleElementReferenceException:
            time.sleep(0.1)
    raise AssertionError(f"could not click {value}")


def attribute(selector, name):
    return driver.execute_script(
        "const e = document.querySelector(arguments[0]); return e ? e.getAttribute(arguments[1]) : null", selector, name)


try:
    # Not signed in: sent to the sign-in page, and back to the page asked for afterwards.
    driver.get(base + "/console/batches")
    assert "/console/sign-in" in driver.current_url, driver.current_url
    shot("sign-in")
    field = driver.find_element(By.ID, "key")
    assert driver.find_element(By.CSS_SELECTOR, "label[for=key]").text == "Operator key"
    field.send_keys("sk-not-an-operator-key", Keys.ENTER)
    assert "not an operator key" in wait("the refusal", lambda: text("#sign-in-error"))
    # The refusal is a 401, which the browser logs; nothing else may be logged from here on.
    refused = [entry["message"] for entry in driver.get_log("browser")]
    assert len(refused) == 1 and "sign-in" in refused[0] and "401" in refused[0], refused
    driver.find_element(By.ID, "key").send_keys(key, Keys.ENTER)
    wait("the batches page", lambda: driver.current_url.endswith("/console/batches"))
    cookie = driver.get_cookie("offpeak_console")
    seen["cookie"] = {"httpOnly": cookie["httpOnly"], "sameSite": cookie["sameSite"], "path": cookie["path"]}

    # The overview: the watched batch's progress advances in place (the page is never reloaded).
    driver.get(base + "/console")
    driver.execute_script("window.offpeakSamePage = true")
    # Layout shifts from here on (the page has loaded): the refreshes must not move anything.
    driver.execute_script("""
        window.offpeakShift = 0;
        new PerformanceObserver(list => {
            for (const entry of list.getEntries()) if (!entry.hadRecentInput) window.offpeakShift += entry.value;
        }).observe({type: "layout-shift"});""")
    row = f"#live #row-{watched} progress"
    values = [int(wait("the watched batch on the overview", lambda: attribute(row, "value")))]
    shot("overview")

    def advanced():
        value = int(attribute(row, "value") or 0)
        if value != values[-1]:
            values.append(value)
        return value > values[0]

    wait("the progress to advance", advanced, within=30)
    assert driver.execute_script("return window.offpeakSamePage === true"), "the page was reloaded"
    assert "Updated" in text("#refreshed")
    seen["progress"] = values
    seen["layout_shift"] = driver.execute_script("return window.offpeakShift")
    seen["savings_cards"] = driver.execute_script("return document.querySelectorAll('#savings .card').length")

    # The first tab stop is the skip link.
    driver.find_element(By.TAG_NAME, "body").send_keys(Keys.TAB)
    seen["first_tab_stop"] = driver.switch_to.active_element.text

    # Batches: search by id.
    driver.get(base + "/console/batches")
    search = driver.find_element(By.ID, "q")
    search.send_keys(watched, Keys.ENTER)
    wait("the search", lambda: "q=" in driver.current_url)
    seen["search_rows"] = driver.execute_script("return [...document.querySelectorAll('#batches tbody tr')].map(r => r.id)")
    shot("batches")

    # Cancel a batch, confirmed on its own page, and see it end.
    driver.get(base + f"/console/batches/{doomed}")
    shot("batch")
    click(By.LINK_TEXT, "Cancel this batch…")
    wait("the confirmation", lambda: driver.current_url.endswith("/cancel"))
    assert driver.find_element(By.ID, "requeue").is_selected()
    shot("cancel")
    driver.find_element(By.XPATH, "//button[text()='Cancel batch']").click()
    seen["cancel_notice"] = wait("the notice", lambda: text("main .notice"))
    seen["cancel_status"] = wait("the batch to end", lambda: text("#batch .status") if text("#batch .status") == "cancelled" else None)

    # Look a request up: its trace shows the placement it left.
    driver.get(base + "/console/requests")
    driver.find_element(By.ID, "id").send_keys(doomed_request, Keys.ENTER)
    wait("the request", lambda: driver.find_elements(By.CSS_SELECTOR, "#request table"))
    seen["trace"] = driver.execute_script(
        "return [...document.querySelectorAll('#request tbody tr')].map(r => [...r.cells].map(c => c.textContent.trim()))")
    shot("request")

    driver.get(base + "/console/deliveries")
    seen["deliveries_title"] = driver.find_element(By.TAG_NAME, "h1").text
    shot("deliveries")

    # A phone: nothing wider than the screen but the tables' own scrolling, on every page.
    driver.execute_cdp_cmd("Emulation.setDeviceMetricsOverride", {"width": 390, "height": 844, "deviceScaleFactor": 2, "mobile": True})
    seen["phone_overflow"] = {}
    for name, path in [("overview", "/console"), ("batches", "/console/batches"), ("request", f"/console/requests?id={doomed_request}"),
                       ("deliveries", "/console/deliveries")]:
        driver.get(base + path)
        seen["phone_overflow"][name] = driver.execute_script(
            "return document.documentElement.scrollWidth - document.documentElement.clientWidth")
    seen["phone_width"] = driver.execute_script("return document.documentElement.clientWidth")
    driver.get(base + "/console")
    shot("overview-phone")

    seen["browser_errors"] = [entry["message"] for entry in driver.get_log("browser") if entry["level"] == "SEVERE"]
finally:
    driver.quit()

print(json.dumps(seen))

"""An officer who opens the checker's queue by its URL sees the refusal in the admin's look,
in English and in Chinese, and goes back to the admin index from it."""

from .conftest import log_in


def test_an_officer_opening_the_checkers_queue_sees_the_refusal_and_goes_back(browser, live_server, officer_user, shoot):
    for lang, heading in (("en", "You may not open this page"), ("zh-CN", "您无权打开此页面")):
        context = browser.new_context(locale=lang, viewport={"width": 1280, "height": 800})
        page = context.new_page()
        log_in(page, live_server, "officer")
        response = page.goto(f"{live_server.url}/admin/monitoring/postloanaction/approvals/")
        assert response.status == 403
        assert page.get_by_text(heading).is_visible()
        shoot(page, f"403-{lang}")
        page.get_by_role("link", name="Back to the back office home" if lang == "en" else "返回后台首页").click()
        page.wait_for_url(f"{live_server.url}/admin/")
        context.close()

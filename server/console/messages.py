"""The console's texts: key → (中文, English). Keys are grouped by screen."""

MESSAGES: dict[str, tuple[str, str]] = {
    # The frame around every page
    "app.name": ("入户", "Ruhu"),
    "app.console": ("督导台", "Supervisor console"),
    "a11y.skip": ("跳到正文", "Skip to content"),
    "nav.main": ("主导航", "Main navigation"),
    "nav.overview": ("概览", "Overview"),
    "nav.language": ("语言", "Language"),
    "role.investigator": ("调查员", "Investigator"),
    "role.supervisor": ("督导员", "Supervisor"),
    "role.admin": ("管理员", "Administrator"),
    "action.logout": ("退出", "Sign out"),
    "action.filter": ("筛选", "Filter"),
    "action.reset": ("清除", "Clear"),
    "action.save": ("保存", "Save"),
    "action.cancel": ("取消", "Cancel"),
    "action.print": ("打印", "Print"),
    "action.back": ("返回", "Back"),
    "common.none": ("无", "none"),
    "common.yes": ("是", "yes"),
    "common.no": ("否", "no"),
    "common.all": ("全部", "All"),
    "common.total": ("合计", "Total"),
    "common.page": ("第 {page} / {pages} 页", "Page {page} of {pages}"),
    "common.prev": ("上一页", "Previous"),
    "common.next": ("下一页", "Next"),
    "common.results": ("共 {n} 条", "{n} results"),
    "common.empty": ("没有记录", "Nothing here"),
    # Sign-in
    "login.title": ("督导台登录", "Sign in to the console"),
    "login.username": ("用户名", "Username"),
    "login.password": ("密码", "Password"),
    "login.submit": ("登录", "Sign in"),
    "login.wrong": ("用户名或密码错误。", "Wrong username or password."),
    "login.too_many": (
        "登录失败次数过多，请稍后再试。",
        "Too many failed sign-ins. Please try again later.",
    ),
    "login.hint": (
        "供乡镇和县级督导员、管理员使用。调查员请使用手机上的入户应用。",
        "For township and county supervisors and administrators. Investigators use the Ruhu "
        "app on their phone.",
    ),
    "refused.title": ("无法进入督导台", "No access to the console"),
    "refused.body": (
        "您的账户是调查员账户。督导台仅供督导员和管理员使用；请在手机上打开入户应用进行入户调查。",
        "Your account is an investigator account. The console is for supervisors and "
        "administrators; please use the Ruhu app on your phone for household visits.",
    ),
    "refused.app": ("打开入户应用", "Open the Ruhu app"),
    # Errors
    "error.title": ("出错了", "Something went wrong"),
    "error.csrf": (
        "表单已过期或来源不明，操作未执行。请返回，刷新页面后重试。",
        "The form expired or did not come from this page; nothing was done. Go back, "
        "reload the page and try again.",
    ),
    "error.404": ("找不到此页面或记录。", "This page or record does not exist."),
    "error.403": (
        "您无权查看此内容（不在您的负责范围内或角色不允许）。",
        "You may not see this (outside your region, or not allowed for your role).",
    ),
    "error.home": ("回到概览", "Back to the overview"),
    # Overview
    "overview.title": ("概览", "Overview"),
    "overview.scope": ("负责范围", "Your region"),
    "overview.households": ("户数", "Households"),
}

from register.admin_site import RegisterAdminConfig


class DashboardAdminConfig(RegisterAdminConfig):
    """The register's admin site with the dashboard as its index."""

    default_site = "dashboard.site.DashboardAdminSite"

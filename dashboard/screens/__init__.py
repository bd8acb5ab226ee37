"""The pages: one script per page, run by Streamlit through the navigation in dashboard/app.py."""
